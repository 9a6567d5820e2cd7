"""Scrapy project of FRT Evidence: settings, item types and one spider per source."""
