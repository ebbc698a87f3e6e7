"""The PySpark trainer and dataset generator: exactly what ships in the image (no Pulumi)."""
