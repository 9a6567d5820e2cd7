"""Publishing helpers of FRT Evidence: what the Datasette pages (plugins/pages.py) compute in plain
Python, kept apart so that it can be tested without a server: citations and charts.
"""
