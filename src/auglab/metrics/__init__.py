"""Metric collections with one naming scheme for every model (docs/architecture.md, "Metrics")."""
