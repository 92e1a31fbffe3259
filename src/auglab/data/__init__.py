"""LightningDataModules that share one split / subsample / augmentation-stage pipeline."""
