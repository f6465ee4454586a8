"""How many workflow submissions per second the load generator sustains on ONE core.

Starts the simulated platform's API without Kubernetes (`--no-kubernetes`, a queue drained fast
enough never to fill) pinned to one CPU, then one Locust process (no --processes) pinned to
another, through the same runner the suites use (validator.load.locust_process), with the steady
profile at its cap and a fixed think time (default 0: a closed loop, each user submits again as
soon as its previous submission is answered). The figure is the submission rate in the window
where every user is running, from the platform's own counter, cross-checked with Locust's stats
history, with the CPU each process used in that window: a generator at ~100% of its core is the
limit being measured; a server at ~100% means the server, not the generator, was the bottleneck.

    .venv/bin/python benchmarks/load_throughput.py --users 50 --duration 40

Prints the figures and writes benchmarks/results/load_throughput.json.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from validator.load.locust_process import LocustProcess, LocustSpec

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "benchmarks" / "results" / "load_throughput.json"


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _submitted(url: str) -> int:
    with urllib.request.urlopen(f"{url}/metrics", timeout=5) as response:
        for line in response.read().decode().splitlines():
            if line.startswith("workflow_submitted_total "):
                return int(float(line.split()[1]))
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--spawn-rate", type=float, default=50.0)
    parser.add_argument("--duration", type=float, default=40.0, help="seconds of the steady profile")
    parser.add_argument("--locust-cpu", type=int, default=0)
    parser.add_argument("--server-cpu", type=int, default=1)
    parser.add_argument("--time-factor", type=float, default=3600.0)
    parser.add_argument("--think-time", type=float, default=0.0,
                        help="seconds between a user's submissions; -1: the mix's compressed think times")
    args = parser.parse_args()

    server = subprocess.Popen(
        [sys.executable, "-m", "validator.sandbox.simulated_platform", "--no-kubernetes", "--port", "0",
         "--queue-capacity", "1000000", "--dispatch-rate-per-replica", "100000", "--time-factor", "1"],
        stdout=subprocess.PIPE, text=True)
    try:
        os.sched_setaffinity(server.pid, {args.server_cpu})
        assert server.stdout is not None
        ready = json.loads(server.stdout.readline())
        url = ready["url"]
        with tempfile.TemporaryDirectory(prefix="load-throughput-") as run_dir:
            spec = LocustSpec(locustfile=REPO / "loadprofiles" / "steady.py", host=url, max_users=args.users,
                              max_spawn_rate=args.spawn_rate, max_duration_s=args.duration + 30,
                              time_factor=args.time_factor, profile_duration_s=args.duration,
                              think_time_s=None if args.think_time < 0 else args.think_time,
                              cpu_affinity=(args.locust_cpu,), extra_env={"VALIDATOR_LOAD_MIX_SEED": "bench"})
            window: dict[str, float] = {}
            with LocustProcess(spec, Path(run_dir)) as load:
                assert load.pid is not None
                while load.running() and "start" not in window:
                    history = Path(run_dir) / "load" / "locust_stats_history.csv"
                    rows = list(csv.DictReader(history.open())) if history.exists() else []
                    full = [r for r in rows
                            if r["Name"] == "Aggregated" and int(r["User Count"]) >= args.users]
                    if full:
                        time.sleep(2.0)  # let the ramp's connections settle
                        window.update(start=time.time(), locust_cpu=_cpu_seconds(load.pid),
                                      server_cpu=_cpu_seconds(server.pid), submitted=_submitted(url))
                    time.sleep(0.25)
                end_target = window.get("start", time.time()) + max(5.0, args.duration * 0.5)
                while load.running() and time.time() < end_target:
                    time.sleep(0.1)
                if "start" in window:
                    window.update(end=time.time(), locust_cpu_end=_cpu_seconds(load.pid),
                                  server_cpu_end=_cpu_seconds(server.pid), submitted_end=_submitted(url))
                outcome = load.wait()
            if "end" not in window:
                print("the run ended before every user was running: raise --duration or --spawn-rate",
                      file=sys.stderr)
                return 1
            rows = [r for r in csv.DictReader((Path(run_dir) / "load" / "locust_stats_history.csv").open())
                    if r["Name"] == "Aggregated"]
            in_window = [r for r in rows if window["start"] <= float(r["Timestamp"]) <= window["end"]]
            failures = int(rows[-1]["Total Failure Count"]) if rows else 0
        seconds = window["end"] - window["start"]
        locust_share = (window["locust_cpu_end"] - window["locust_cpu"]) / seconds
        submitted = window["submitted_end"] - window["submitted"]
        server_share = (window["server_cpu_end"] - window["server_cpu"]) / seconds
        result = {
            "users": args.users,
            "window_s": round(seconds, 1),
            "submissions_per_s": round(submitted / seconds, 1),
            "locust_reported_rps_mean": round(sum(float(r["Requests/s"]) for r in in_window)
                                              / max(1, len(in_window)), 1),
            "locust_cpu_share_of_one_core": round(locust_share, 2),
            # what one dedicated core would sustain at this cost per submission (the machine is shared)
            "submissions_per_generator_cpu_second": round(submitted / max(1e-9, locust_share * seconds)),
            "server_cpu_share_of_one_core": round(server_share, 2),
            "failed_submissions": failures,
            "locust_exit": outcome.returncode,
        }
        print(json.dumps(result))
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(json.dumps(result, indent=2) + "\n")
        return 0
    finally:
        server.send_signal(2)
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()


if __name__ == "__main__":
    sys.exit(main())
