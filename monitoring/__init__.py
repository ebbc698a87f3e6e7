"""Queries, dashboards, scrape configuration, alert rules, the local report. No Pulumi imports."""
