"""A sweep job around a run: its identity and folder, skip / resume / run, its records, DDP rank processes,
SLURM tasks, GPU slots on one machine, and the sweep's console lines."""
