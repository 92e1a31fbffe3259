"""Peak resident memory of a command, e.g. the main job.

    .venv/bin/python benchmarks/peak_memory.py -- .venv/bin/auglab-train -m experiment=fashion_lowdata
    .venv/bin/python benchmarks/peak_memory.py --smoke    # measures python -c "import auglab.train"

Reports the largest resident set of any process the command started (Linux ``ru_maxrss``) and the
wall time. With ``-m`` the whole sweep runs in one process, so this is the job's peak.
"""

from __future__ import annotations

import resource
import subprocess
import sys
import time

SMOKE = [sys.executable, "-c", "import auglab.train"]


def main() -> None:
    args = sys.argv[1:]
    smoke = args[:1] == ["--smoke"]
    args = args[1:] if smoke else args
    command = args[args.index("--") + 1:] if "--" in args else args
    if smoke and not command:
        command = SMOKE
    if not command:
        raise SystemExit("usage: peak_memory.py [--smoke] [--] COMMAND [ARGS...]")
    start = time.perf_counter()
    code = subprocess.call(command)
    wall = time.perf_counter() - start
    peak_mib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"exit {code}; wall {wall:.0f} s; peak RSS {peak_mib:,.0f} MiB: {' '.join(command)}")
    sys.exit(code)


if __name__ == "__main__":
    main()
