"""Pictures a run draws (augmented batches, confusion matrices) and shows in the loggers that take them."""
