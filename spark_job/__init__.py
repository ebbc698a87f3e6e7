"""The PySpark training job: trainer, dataset generator, executor sweep. Never imports Pulumi."""
