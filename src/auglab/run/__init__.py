"""One run: building its datamodule, model and Trainer from the config, its loggers, and what it records
(metrics, provenance, the resolved config)."""
