"""LightningModules; classifiers share one training/metrics home in ``classifier.py``."""
