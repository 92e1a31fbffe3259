"""One loader per data source; each returns plain tensors and knows nothing of augmentation."""
