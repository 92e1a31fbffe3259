"""Metric collections with one naming scheme for every model (DESIGN.md, "Conventions")."""
