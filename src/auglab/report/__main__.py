"""``python -m auglab.report``, the same as ``auglab-report``."""

from auglab.report import main

main()
