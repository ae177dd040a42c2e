"""Peak memory of a command and every process it forks, with a limit that kills it.

    python benchmarks/peak_memory.py --limit-mib 6000 -- genlab evaluate t.smi --reference moses

``/usr/bin/time -f %M`` reports the largest single process only; ``genlab evaluate`` forks RDKit
workers, so this samples ``/proc/<pid>/smaps_rollup`` of the whole process tree every 0.25 s and
prints (to stderr, as JSON) the peak of the summed RSS (shared pages counted in each process), of
the summed PSS (shared pages split), of the largest process, and the wall time. Above
``--limit-mib`` of summed RSS the process group is killed, so an experiment cannot take a shared
machine's memory from its other users.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time


def process_tree(root: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    parent = int(f.read().rsplit(")", 1)[1].split()[1])
            except OSError:
                continue
            children.setdefault(parent, []).append(int(entry))
    tree, todo = [], [root]
    while todo:
        pid = todo.pop()
        tree.append(pid)
        todo += children.get(pid, [])
    return tree


def rss_pss_kib(pid: int) -> tuple[int, int]:
    rss = pss = 0
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Rss:"):
                    rss = int(line.split()[1])
                elif line.startswith("Pss:"):
                    pss = int(line.split()[1])
    except OSError:
        pass
    return rss, pss


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit-mib", type=float, default=6000)
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args()
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    start = time.perf_counter()
    proc = subprocess.Popen(command, start_new_session=True)
    peak = {"tree_rss": 0, "tree_pss": 0, "largest_rss": 0, "processes": 0}
    killed = False
    while proc.poll() is None:
        pids = process_tree(proc.pid)
        mems = [rss_pss_kib(pid) for pid in pids]
        rss = sum(m[0] for m in mems)
        peak["tree_rss"] = max(peak["tree_rss"], rss)
        peak["tree_pss"] = max(peak["tree_pss"], sum(m[1] for m in mems))
        peak["largest_rss"] = max([peak["largest_rss"]] + [m[0] for m in mems])
        peak["processes"] = max(peak["processes"], len(pids))
        if rss / 1024 > args.limit_mib and not killed:
            os.killpg(proc.pid, signal.SIGKILL)
            killed = True
        time.sleep(0.25)
    print(json.dumps({"returncode": proc.returncode, "killed_above_limit": killed,
                      "wall_s": round(time.perf_counter() - start, 1),
                      "peak_tree_rss_mib": round(peak["tree_rss"] / 1024),
                      "peak_tree_pss_mib": round(peak["tree_pss"] / 1024),
                      "peak_largest_process_rss_mib": round(peak["largest_rss"] / 1024),
                      "processes": peak["processes"]}), file=sys.stderr)
    sys.exit(proc.returncode if proc.returncode >= 0 else 1)


if __name__ == "__main__":
    main()
