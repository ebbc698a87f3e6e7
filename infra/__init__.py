"""Pulumi components of the spark-doks platform, one concern per module."""
