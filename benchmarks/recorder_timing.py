"""How late does the Kubernetes recorder stamp a change? Measured against the sandbox.

Creates N pods in a scratch namespace, raises their simulated CPU, then OOM-kills each once
(the sandbox's kwok stage), while a `KubernetesRecorder` writes k8s.jsonl. Then compares each
line's `received_ms` with the time the change happened, by three clocks (all on this machine):

- `patch_to_receipt`: our own clock, in milliseconds: the moment just before we sent a patch of
  the pod's usage annotation, to the receipt of the MODIFIED line that carries it. An upper bound
  of the pipeline's delay (apiserver write + watch fan-out + recorder), at 1 ms resolution.
- `event_time_to_receipt`: an Event's `eventTime` (MicroTime, microseconds; set by the scheduler
  when it records `Scheduled`) to the receipt of the Event. Includes the event broadcaster's
  batching in the scheduler, so it is an upper bound too.
- `transition_to_receipt`: the object's own transition times, at the API's 1 s resolution
  (`metav1.Time` is serialised in whole seconds, truncated): pod conditions' `lastTransitionTime`
  and containers' `state.running.startedAt` / `lastState.terminated.finishedAt`, written by kwok
  (and `PodScheduled` by the scheduler) from this machine's clock. The true delay of each is the
  measured value minus an unknown u in [0, 1000) ms, so this distribution is what a criterion
  that compares receipt times with object times must allow for.

Run (the sandbox must be up: `validator sandbox up`):

    .venv/bin/python benchmarks/recorder_timing.py --pods 30

Writes benchmarks/results/recorder_timing.json and prints a table.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from kubernetes import client

from validator.collect.recorder import KubernetesRecorder, now_ms
from validator.kube import api_client

RESULTS = Path(__file__).parent / "results" / "recorder_timing.json"
TOKEN = "bench.validator.io/token"
CPU = "sim.validator.io/cpu"
OOM_KILL = "sim.validator.io/oom-kill"


# --- reading the recorder's file --------------------------------------------------------------


class Follow:
    """The recorder's lines so far, read incrementally; the latest state of each pod by name."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._offset = 0
        self.lines: list[dict[str, Any]] = []
        self.pods: dict[str, dict[str, Any]] = {}

    def poll(self) -> None:
        if not self.path.exists():
            return
        with self.path.open("rb") as handle:
            handle.seek(self._offset)
            data = handle.read()
        end = data.rfind(b"\n") + 1
        self._offset += end
        for raw in data[:end].splitlines():
            record = json.loads(raw)
            self.lines.append(record)
            if record.get("kind") == "Pod" and record["type"] != "GAP":
                if record["type"] == "DELETED":
                    self.pods.pop(record["name"], None)
                else:
                    self.pods[record["name"]] = record["object"]

    def wait(self, what: str, done: Callable[[Follow], bool], timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while True:
            self.poll()
            if done(self):
                return
            if time.monotonic() > deadline:
                raise TimeoutError(f"the recorder did not see {what} within {timeout:.0f} s ({self.path})")
            time.sleep(0.05)


def pod_ready(obj: dict[str, Any]) -> bool:
    conditions = (obj.get("status") or {}).get("conditions") or []
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)


def restarts(obj: dict[str, Any]) -> int:
    return sum(
        int(c.get("restartCount") or 0) for c in (obj.get("status") or {}).get("containerStatuses") or []
    )


# --- the measures (pure) --------------------------------------------------------------------------


def epoch_ms(text: str) -> int:
    value = text[:-1] + "+00:00" if text.endswith("Z") else text
    return round(datetime.fromisoformat(value).timestamp() * 1000)


def object_times(obj: dict[str, Any]) -> Iterator[tuple[str, str, str]]:
    """(source, key, RFC 3339 time) of every transition time a pod carries."""
    status = obj.get("status") or {}
    for condition in status.get("conditions") or []:
        when = condition.get("lastTransitionTime")
        if when:
            source = "scheduler" if condition.get("type") == "PodScheduled" else "kwok"
            yield source, f"condition/{condition.get('type')}/{condition.get('status')}", when
    for container in status.get("containerStatuses") or []:
        name = container.get("name")
        running = ((container.get("state") or {}).get("running") or {}).get("startedAt")
        if running:
            yield "kwok", f"{name}/running", running
        finished = ((container.get("lastState") or {}).get("terminated") or {}).get("finishedAt")
        if finished:
            yield "kwok", f"{name}/terminated", finished


def transition_delays(lines: Iterable[dict[str, Any]], since_ms: int) -> dict[str, list[int]]:
    """received_ms minus each transition time, at the first line that shows it; per clock source."""
    seen: set[tuple[str, str, str]] = set()
    out: dict[str, list[int]] = {"kwok": [], "scheduler": []}
    for record in lines:
        if record.get("kind") != "Pod" or record["type"] not in ("ADDED", "MODIFIED"):
            continue
        uid = record.get("uid", "")
        for source, key, when in object_times(record["object"]):
            if (uid, key, when) in seen:
                continue
            seen.add((uid, key, when))
            at = epoch_ms(when)
            if at >= since_ms - 1000:  # only transitions that happened while recording
                out[source].append(record["received_ms"] - at)
    return out


def event_delays(lines: Iterable[dict[str, Any]], since_ms: int) -> list[int]:
    out: list[int] = []
    for record in lines:
        if record.get("kind") != "Event" or record["type"] != "ADDED":
            continue
        when = record["object"].get("eventTime")
        if when:
            at = epoch_ms(when)
            if at >= since_ms:
                out.append(record["received_ms"] - at)
    return out


def patch_delays(lines: Iterable[dict[str, Any]], sent: dict[str, int]) -> list[int]:
    """For each token we sent, the receipt of the first line carrying it minus the send time."""
    out: dict[str, int] = {}
    for record in lines:
        if record.get("kind") != "Pod" or record["type"] != "MODIFIED":
            continue
        token = ((record["object"].get("metadata") or {}).get("annotations") or {}).get(TOKEN)
        if token in sent and token not in out:
            out[token] = record["received_ms"] - sent[token]
    return list(out.values())


def percentile(values: list[int], q: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100.0 * len(ordered)))
    return float(ordered[rank - 1])


def distribution(values: list[int], *, resolution_ms: float, clock: str, meaning: str) -> dict[str, Any]:
    if not values:
        return {"n": 0, "resolution_ms": resolution_ms, "clock": clock, "meaning": meaning}
    return {
        "n": len(values),
        "min_ms": float(min(values)),
        "p50_ms": percentile(values, 50),
        "p95_ms": percentile(values, 95),
        "max_ms": float(max(values)),
        "mean_ms": round(sum(values) / len(values), 1),
        "resolution_ms": resolution_ms,
        "clock": clock,
        "meaning": meaning,
    }


# --- the run ---------------------------------------------------------------------------------------


def pod_manifest(name: str) -> dict[str, Any]:
    return {
        "metadata": {"name": name, "labels": {"app.kubernetes.io/name": "bench"}},
        "spec": {
            "nodeSelector": {"type": "kwok"},
            "containers": [
                {
                    "name": "main",
                    "image": "registry.invalid/bench:1",
                    "resources": {
                        "requests": {"cpu": "100m", "memory": "64Mi"},
                        "limits": {"memory": "256Mi"},
                    },
                }
            ],
        },
    }


def run(kubeconfig: str, context: str, pods: int, timeout: float) -> dict[str, Any]:
    load_before = round(os.getloadavg()[0], 2)
    api = api_client(kubeconfig, context)
    core = client.CoreV1Api(api)
    namespace = f"bench-recorder-{int(time.time())}"
    core.create_namespace({"metadata": {"name": namespace}})
    names = [f"bench-{i:03d}" for i in range(pods)]
    sent: dict[str, int] = {}
    try:
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "k8s.jsonl"
            recorder = KubernetesRecorder.from_kubeconfig(
                out, kubeconfig=kubeconfig, context=context, namespaces=[namespace], kinds=("Pod", "Event")
            )
            follow = Follow(out)
            with recorder:
                started = recorder.started_ms or now_ms()
                for name in names:
                    core.create_namespaced_pod(namespace, pod_manifest(name))
                follow.wait(
                    f"{pods} pods Ready",
                    lambda f: sum(pod_ready(o) for o in f.pods.values()) >= pods,
                    timeout,
                )
                for name in names:  # raise the usage; the token ties the MODIFIED line to this send
                    token = f"{name}-cpu"
                    sent[token] = now_ms()
                    core.patch_namespaced_pod(
                        name, namespace, {"metadata": {"annotations": {CPU: "750m", TOKEN: token}}}
                    )
                follow.wait(
                    "every usage patch",
                    lambda f: all(
                        ((o.get("metadata") or {}).get("annotations") or {}).get(TOKEN) == f"{n}-cpu"
                        for n, o in f.pods.items()
                    ),
                    timeout,
                )
                for name in names:  # one OOM kill each: kwok stamps finishedAt/startedAt
                    token = f"{name}-oom"
                    sent[token] = now_ms()
                    core.patch_namespaced_pod(
                        name, namespace, {"metadata": {"annotations": {OOM_KILL: "bench", TOKEN: token}}}
                    )
                follow.wait(
                    "every OOM kill", lambda f: all(restarts(o) >= 1 for o in f.pods.values()), timeout
                )
                time.sleep(1.0)  # let trailing events arrive
            stats = recorder.stats()
            follow.poll()
            lines = follow.lines
    finally:
        core.delete_namespace(namespace, grace_period_seconds=0)

    transitions = transition_delays(lines, started)
    return {
        "schema": "validator.bench.recorder_timing/v1",
        "measured_at": datetime.now(tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "pods": pods,
        "cpus": os.cpu_count(),
        "load_average_1m_before_after": [load_before, round(os.getloadavg()[0], 2)],
        "lines": len(lines),
        "gaps": stats.gaps,
        "measures": {
            "patch_to_receipt": distribution(
                patch_delays(lines, sent),
                resolution_ms=1,
                clock="this process (send) and the recorder (receipt), same machine",
                meaning="upper bound of the delay from a write to the recorder's line",
            ),
            "event_time_to_receipt": distribution(
                event_delays(lines, started),
                resolution_ms=0.001,
                clock="Event.eventTime (MicroTime) set by the reporting component",
                meaning="includes the reporting component's event batching",
            ),
            "transition_to_receipt_kwok": distribution(
                transitions["kwok"],
                resolution_ms=1000,
                clock="kwok's Now in conditions / container states, truncated to the second",
                meaning="true delay = value - u, u in [0, 1000) ms",
            ),
            "transition_to_receipt_scheduler": distribution(
                transitions["scheduler"],
                resolution_ms=1000,
                clock="PodScheduled lastTransitionTime, truncated to the second",
                meaning="true delay = value - u, u in [0, 1000) ms",
            ),
        },
    }


def table(result: dict[str, Any]) -> str:
    rows = [f"{'measure':34} {'n':>5} {'min':>8} {'p50':>8} {'p95':>8} {'max':>8} {'resolution':>11}"]
    for name, m in result["measures"].items():
        if not m["n"]:
            rows.append(f"{name:34} {0:>5} {'no data':>8}")
            continue
        rows.append(
            f"{name:34} {m['n']:>5} {m['min_ms']:>7.0f}ms {m['p50_ms']:>6.0f}ms {m['p95_ms']:>6.0f}ms "
            f"{m['max_ms']:>6.0f}ms {m['resolution_ms']:>9g}ms"
        )
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pods", type=int, default=30)
    parser.add_argument("--kubeconfig", help="default: the running sandbox's")
    parser.add_argument("--context", help="default: the running sandbox's")
    parser.add_argument("--sandbox-name", default="validator-sandbox")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds for each phase")
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    kubeconfig, context = args.kubeconfig, args.context
    if not (kubeconfig and context):
        from validator.sandbox.lifecycle import load_info

        info = load_info(args.sandbox_name)
        if info is None:
            print(f"no sandbox named {args.sandbox_name} is up: run `validator sandbox up`", file=sys.stderr)
            return 3
        kubeconfig, context = kubeconfig or info.kubeconfig, context or info.context
    result = run(kubeconfig, context, args.pods, args.timeout)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=2) + "\n")
    print(table(result))
    print(
        f"load average (1 min) before/after: {result['load_average_1m_before_after']} "
        f"on {result['cpus']} CPUs"
    )
    print(f"written: {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
