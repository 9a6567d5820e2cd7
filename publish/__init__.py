"""Publishing helpers of FRT Evidence: what the Datasette pages (plugins/) compute in plain Python,
kept apart so that it can be tested without a server: citations and charts.
"""
