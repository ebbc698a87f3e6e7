"""Queries, dashboards, scrape configuration, alert rules and the local report.

Never imports Pulumi or infra.
"""
