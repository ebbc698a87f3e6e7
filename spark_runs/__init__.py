"""Laptop-side tools around the trainer: manifests, fit rules, cost, sweep (not in the image)."""
