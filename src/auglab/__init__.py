"""auglab: which data augmentation helps this model, on this data, at this data size, and by how much."""

__version__ = "0.1.0"
