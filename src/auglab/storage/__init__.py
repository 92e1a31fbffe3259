"""What runs keep on disk: atomic writes, content fingerprints, cached artefacts, the run-folder layout."""
