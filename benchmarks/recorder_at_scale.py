"""Does the Kubernetes recorder keep up at the platform's size? 1,000 nodes, 10,000 pods, churn.

A sandbox of its own (`--nodes`), one namespace filled with `--pods` pods, then `--churn-seconds`
of churn: every second `--churn-per-second` of the oldest pods are deleted and as many new ones
created; every pod completes on its own (`sim.validator.io/complete-after`, spread so completions
arrive steadily); every `--flap-every` seconds a node goes NotReady (`sim.validator.io/not-ready`)
for `--flap-seconds` (longer than the compressed 30 s not-ready toleration, so its pods are evicted
too). A `KubernetesRecorder` (every kind the evidence model reads: Pods, workloads, HPAs, PDBs and
Events of the namespace, Nodes cluster-wide) runs in a process of its own, as in a run, writing
k8s.jsonl; the driver runs in this one.

Lag: each line's `received_ms` (the recorder's receipt) minus the time of the change it is the
first line to show, by three kinds of clock:

- `apiserver_<Kind>`: the apiserver's own clock at the write: `creationTimestamp` for an ADDED
  line, the latest managedFields `time` for a MODIFIED one (the recorder drops managedFields, so
  its process here keeps that one value on each line: `bench_written`). This is the lag the
  recorder adds to what the apiserver committed.
- `writer_*`: the times the writer put into the object: pod conditions' `lastTransitionTime` and
  containers' `startedAt` / `finishedAt`, a node's Ready `lastTransitionTime` and
  `lastHeartbeatTime` (kwok's clock when it rendered the status, the node lifecycle controller's
  when it marked pods not Ready). These include the writer's own delay between rendering the
  status and the apiserver accepting it (kwok's queue, under load), which is not the recorder's.
- `reporter_event_*`: an Event's `eventTime` (MicroTime) or `lastTimestamp`; includes the
  reporter's event broadcaster, which batches and rate-limits.

All but `eventTime` are `metav1.Time`, serialised in whole seconds (truncated), so each value is
the true lag plus an unknown u in [0, 1000) ms: the true p99 lies within
[measured p99 - 1000 ms, measured p99]. The driver's own writes give a 1 ms view on this
process's clock (`client_*`): the send of a create / delete / node label patch to the receipt of
the line that shows it, an upper bound that includes the apiserver's queueing under the load.

The sandbox's Prometheus is stopped once the sandbox is up (`--keep-prometheus` keeps it): with the
compressed timings it scrapes every simulated kubelet each second, which at 1,000 idle nodes keeps
kwok at 0.32 cores instead of 0.07 (benchmarks/results/sandbox_lifecycle.json) and grew to ~2 GB
with the 10,000 pods; in a run with it kept kwok fell behind and hardly any pod completed (no
churn). The recorder does not read Prometheus.

Requests: the recorder's own counters (list pages and watch requests; watches only, no polling),
read at the start and the end of the churn window. Gaps: every GAP line, its reason and whether
a relist closed it.

    .venv/bin/python benchmarks/recorder_at_scale.py                          # 1,000 nodes, 10,000 pods
    .venv/bin/python benchmarks/recorder_at_scale.py --nodes 200 --pods 1000  # a quick look

Writes benchmarks/results/recorder_at_scale.json and prints a table. The sandbox is removed at the
end, whatever happens.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import multiprocessing
import os
import random
import resource
import sys
import tempfile
import threading
import time
import uuid
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from kubernetes import client
from kubernetes.client.exceptions import ApiException

from validator.collect import recorder as recorder_module
from validator.collect.recorder import KubernetesRecorder, now_ms
from validator.kube import api_client
from validator.sandbox import lifecycle
from validator.sandbox.local_processes import stop_process

RESULTS = Path(__file__).parent / "results" / "recorder_at_scale.json"
NOT_READY = "sim.validator.io/not-ready"
WRITTEN = "bench_written"  # added to each line by the benchmark's recorder process


# --- the recorder, in a process of its own -------------------------------------------------------


def _recorder_process(out: str, kubeconfig: str, context: str, namespace: str, conn: Any, stop: Any) -> None:
    # The recorder drops managedFields from every object; their latest `time` is the apiserver's
    # clock at the object's last write, so this process keeps that one value (WRITTEN) on each line.
    original = recorder_module.object_record

    def object_record(received_ms: int, kind: str, event_type: str, obj: dict[str, Any]) -> dict[str, Any]:
        entries = (obj.get("metadata") or {}).get("managedFields") or []
        times = [str(e["time"]) for e in entries if isinstance(e, dict) and e.get("time")]
        record = original(received_ms, kind, event_type, obj)
        if times:
            record[WRITTEN] = max(times)  # RFC 3339 in UTC, whole seconds: orders as text
        return record

    recorder_module.object_record = object_record
    recorder = KubernetesRecorder.from_kubeconfig(
        out, kubeconfig=kubeconfig, context=context, namespaces=[namespace]
    )
    recorder.start()
    recorder.wait_until_synced(120)
    conn.send({"synced_ms": recorder.synced_ms})
    while not stop.wait(0.2):
        if conn.poll():
            conn.recv()
            conn.send(_stats(recorder))
    stats = recorder.stop(timeout=10)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    conn.send(
        {
            **_stats(recorder),
            "stopped_ms": recorder.stopped_ms,
            "cpu_seconds": round(usage.ru_utime + usage.ru_stime, 1),
            "peak_rss_mib": round(usage.ru_maxrss / 1024, 1),
            "last_errors": stats.last_errors,
        }
    )


def _stats(recorder: KubernetesRecorder) -> dict[str, Any]:
    s = recorder.stats()
    return {
        "at_ms": now_ms(),
        "lines": s.lines,
        "watch_events": s.watch_events,
        "list_requests": s.list_requests,
        "watch_requests": s.watch_requests,
        "relists": s.relists,
        "gaps": s.gaps,
        "reconnects": s.reconnects,
        "bookmarks": s.bookmarks,
    }


class RecorderProcess:
    def __init__(self, out: Path, kubeconfig: str, context: str, namespace: str) -> None:
        ctx = multiprocessing.get_context("spawn")
        self._conn, child = ctx.Pipe()
        self._stop = ctx.Event()
        self._proc = ctx.Process(
            target=_recorder_process,
            args=(str(out), kubeconfig, context, namespace, child, self._stop),
            daemon=True,
        )
        self._proc.start()
        if not self._conn.poll(180):
            raise RuntimeError("the recorder did not sync within 180 s")
        self.synced_ms: int = self._conn.recv()["synced_ms"]

    def stats(self) -> dict[str, Any]:
        self._conn.send("stats")
        return dict(self._conn.recv())

    def stop(self) -> dict[str, Any]:
        self._stop.set()
        final = dict(self._conn.recv()) if self._conn.poll(60) else {}
        self._proc.join(30)
        return final


# --- the driver ------------------------------------------------------------------------------------


class Driver:
    """Creates, deletes and flaps, many requests in flight; remembers when it sent each."""

    def __init__(self, info: lifecycle.SandboxInfo, namespace: str, workers: int, lifetime_s: float) -> None:
        self.api = api_client(info.kubeconfig, info.context, connections=workers + 4)
        self.core = client.CoreV1Api(self.api)
        self.namespace = namespace
        self.pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="driver")
        self.lifetime_s = lifetime_s
        self.nodes = sorted(n["metadata"]["name"] for n in lifecycle.list_nodes_raw(self.api))
        self._counter = itertools.count()
        self.live: deque[str] = deque()
        self.created_sent: dict[str, int] = {}
        self.deleted_sent: dict[str, int] = {}
        self.flaps_sent: list[tuple[str, str, int]] = []  # (node, "true" | "", sent_ms)
        self.errors: dict[str, int] = {}
        self._lock = threading.Lock()

    def _note(self, error: BaseException) -> None:
        key = f"HTTP {error.status}" if isinstance(error, ApiException) else type(error).__name__
        with self._lock:
            self.errors[key] = self.errors.get(key, 0) + 1

    def _create(self, name: str, node: str) -> None:
        manifest = {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {
                "name": name,
                "labels": {"app.kubernetes.io/name": "scale"},
                # completions spread over the pods' life, so they arrive steadily
                "annotations": {
                    "sim.validator.io/complete-after": f"{random.uniform(5, self.lifetime_s):.0f}s"
                },
            },
            "spec": {
                "nodeName": node,  # bound at once: the recorder, not the scheduler, is measured
                "tolerations": [],
                "containers": [
                    {
                        "name": "main",
                        "image": "registry.invalid/scale:1",
                        "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}},
                    }
                ],
            },
        }
        self.created_sent[name] = now_ms()
        try:
            response = self.core.create_namespaced_pod(
                self.namespace, manifest, _preload_content=False, _request_timeout=(5, 60)
            )
            response.read()
            response.release_conn()
        except Exception as error:
            self._note(error)

    def _delete(self, name: str) -> None:
        self.deleted_sent[name] = now_ms()
        try:
            response = self.core.delete_namespaced_pod(
                name, self.namespace, grace_period_seconds=0, _preload_content=False, _request_timeout=(5, 60)
            )
            response.read()
            response.release_conn()
        except ApiException as error:
            if error.status != 404:  # evicted from a failed node already
                self._note(error)
        except Exception as error:
            self._note(error)

    def create(self, count: int) -> list[Future[None]]:
        futures = []
        for _ in range(count):
            index = next(self._counter)
            name = f"scale-{index:06d}"
            self.live.append(name)
            futures.append(self.pool.submit(self._create, name, self.nodes[index % len(self.nodes)]))
        return futures

    def replace_oldest(self, count: int) -> None:
        for _ in range(min(count, len(self.live))):
            self.pool.submit(self._delete, self.live.popleft())
        self.create(count)

    def flap(self, node: str, value: str) -> None:
        label: dict[str, str | None] = {NOT_READY: value or None}
        self.flaps_sent.append((node, value, now_ms()))
        try:
            response = self.core.patch_node(node, {"metadata": {"labels": label}}, _preload_content=False)
            response.read()
            response.release_conn()
        except Exception as error:
            self._note(error)

    def close(self) -> None:
        self.pool.shutdown(wait=True)
        self.api.close()


def wait_futures(futures: list[Future[None]]) -> None:
    for future in futures:
        future.result()


# --- analysis (pure, streamed over the file) -------------------------------------------------------


def epoch_ms(text: str) -> int:
    value = text[:-1] + "+00:00" if text.endswith("Z") else text
    return round(datetime.fromisoformat(value).timestamp() * 1000)


def pod_times(obj: dict[str, Any]) -> Iterator[tuple[str, str]]:
    status = obj.get("status") or {}
    for condition in status.get("conditions") or []:
        when = condition.get("lastTransitionTime")
        if when:
            yield f"condition/{condition.get('type')}/{condition.get('status')}", when
    for container in status.get("containerStatuses") or []:
        state = container.get("state") or {}
        started = (state.get("running") or {}).get("startedAt")
        if started:
            yield f"{container.get('name')}/running", started
        finished = (state.get("terminated") or {}).get("finishedAt")
        if finished:
            yield f"{container.get('name')}/terminated", finished


def percentile(values: list[int], q: float) -> float:
    ordered = sorted(values)
    return float(ordered[max(1, math.ceil(q / 100.0 * len(ordered))) - 1])


def distribution(values: list[int], resolution_ms: float) -> dict[str, Any]:
    if not values:
        return {"n": 0, "resolution_ms": resolution_ms}
    out: dict[str, Any] = {
        "n": len(values),
        "p50_ms": percentile(values, 50),
        "p99_ms": percentile(values, 99),
        "max_ms": float(max(values)),
        "mean_ms": round(sum(values) / len(values), 1),
        "resolution_ms": resolution_ms,
    }
    if resolution_ms >= 1000:
        # value = true lag + u, u uniform in [0, 1000): the true p99 is within these bounds
        out["true_p99_within_ms"] = [max(0.0, out["p99_ms"] - 1000), out["p99_ms"]]
        out["true_mean_estimate_ms"] = round(out["mean_ms"] - 500, 1)
    return out


def analyse(path: Path, driver: Driver, since_ms: int, window: tuple[int, int]) -> dict[str, Any]:
    """Lag samples per clock, split into the fill (before the window) and churn (in it) phases."""
    seen: set[tuple[str, str, str]] = set()
    samples: dict[str, dict[str, list[int]]] = {"fill": {}, "churn": {}}
    gaps: list[dict[str, Any]] = []
    created_left = dict(driver.created_sent)
    deleted_left = dict(driver.deleted_sent)
    flaps = {(node, value): sent for node, value, sent in driver.flaps_sent}
    phases: dict[str, set[str]] = {"Running": set(), "Succeeded": set()}
    lines = 0

    def add(source: str, received: int, at: int) -> None:
        if at < since_ms - 1000:
            return  # a change from before the recorder had synced
        phase = "churn" if window[0] <= received <= window[1] else "fill" if received < window[0] else ""
        if phase:
            samples[phase].setdefault(source, []).append(received - at)

    def first(uid: str, key: str, when: str) -> bool:
        if (uid, key, when) in seen:
            return False
        seen.add((uid, key, when))
        return True

    with path.open("rb") as handle:
        for raw in handle:
            lines += 1
            record = json.loads(raw)
            kind, kind_type = str(record.get("kind")), record.get("type")
            if kind_type == "GAP":
                gaps.append({k: record.get(k) for k in ("kind", "from_ms", "to_ms", "reason", "relist")})
                continue
            if kind_type not in ("ADDED", "MODIFIED", "DELETED"):
                continue
            received = int(record["received_ms"])
            obj = record.get("object") or {}
            metadata = obj.get("metadata") or {}
            uid, name = str(record.get("uid", "")), str(record.get("name", ""))
            # the apiserver's clock: a creation's creationTimestamp, a change's managedFields time
            if kind_type == "ADDED" and metadata.get("creationTimestamp"):
                add(f"apiserver_{kind}", received, epoch_ms(metadata["creationTimestamp"]))
            elif kind_type == "MODIFIED" and record.get(WRITTEN) and first(uid, WRITTEN, record[WRITTEN]):
                add(f"apiserver_{kind}", received, epoch_ms(record[WRITTEN]))
            if kind == "Pod":
                if kind_type == "ADDED" and name in created_left:
                    add("client_create_to_line", received, created_left.pop(name))
                if kind_type == "DELETED" and name in deleted_left:
                    add("client_delete_to_line", received, deleted_left.pop(name))
                phase = (obj.get("status") or {}).get("phase")
                if phase in phases:
                    phases[phase].add(uid)
                for key, when in pod_times(obj):
                    if first(uid, key, when):
                        add("writer_pod_transition", received, epoch_ms(when))
            elif kind == "Node":
                value = (metadata.get("labels") or {}).get(NOT_READY, "")
                sent = flaps.get((name, value))
                if sent is not None and received >= sent:
                    add("client_node_label_to_line", received, sent)
                    del flaps[(name, value)]
                for condition in (obj.get("status") or {}).get("conditions") or []:
                    if condition.get("type") != "Ready":
                        continue
                    for source, field in (
                        ("writer_node_transition", "lastTransitionTime"),
                        ("writer_node_heartbeat", "lastHeartbeatTime"),
                    ):
                        when = condition.get(field)
                        if when and first(uid, field, when):
                            add(source, received, epoch_ms(when))
            elif kind == "Event" and kind_type == "ADDED":
                if obj.get("eventTime"):
                    add("reporter_event_time", received, epoch_ms(obj["eventTime"]))
                elif obj.get("lastTimestamp"):
                    add("reporter_event_last_timestamp", received, epoch_ms(obj["lastTimestamp"]))
    fine = {
        "reporter_event_time",
        "client_create_to_line",
        "client_delete_to_line",
        "client_node_label_to_line",
    }
    return {
        "lines": lines,
        "pods_seen": {phase: len(uids) for phase, uids in phases.items()},
        "lag": {
            phase: {
                source: distribution(values, 1 if source in fine else 1000)
                for source, values in sorted(by_source.items())
            }
            for phase, by_source in samples.items()
        },
        "gaps": gaps,
    }


# --- the run -----------------------------------------------------------------------------------------


def run(args: argparse.Namespace) -> dict[str, Any]:
    name = args.sandbox_name or f"recorder-scale-{uuid.uuid4().hex[:6]}"
    load_before = round(os.getloadavg()[0], 2)
    started = time.monotonic()
    info = lifecycle.up(
        lifecycle.SandboxOptions(name=name, nodes=args.nodes),
        progress=lambda m: print(f"[sandbox {name}] {m}", file=sys.stderr, flush=True),
    )
    up_s = time.monotonic() - started
    if not args.keep_prometheus:
        stop_process(info.processes["prometheus"])
    result: dict[str, Any] = {}
    try:
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "k8s.jsonl"
            namespace = "scale"
            with api_client(info.kubeconfig, info.context) as api:
                client.CoreV1Api(api).create_namespace({"metadata": {"name": namespace}})
            recorder = RecorderProcess(out, info.kubeconfig, info.context, namespace)
            lifetime = max(30.0, args.pods / max(args.churn_per_second, 0.1))
            driver = Driver(info, namespace, args.workers, lifetime)
            try:
                t0 = time.monotonic()
                wait_futures(driver.create(args.pods))
                fill_s = time.monotonic() - t0
                print(f"{args.pods} pods created in {fill_s:.1f} s", file=sys.stderr, flush=True)
                time.sleep(args.settle_seconds)
                before = recorder.stats()
                window_start = now_ms()
                flapping: dict[str, float] = {}
                next_flap = time.monotonic()
                end = time.monotonic() + args.churn_seconds
                tick = time.monotonic()
                while time.monotonic() < end:
                    driver.replace_oldest(args.churn_per_second)
                    now = time.monotonic()
                    for node, since in list(flapping.items()):
                        if now - since >= args.flap_seconds:
                            driver.pool.submit(driver.flap, node, "")
                            del flapping[node]
                    if args.flap_every > 0 and now >= next_flap:
                        node = random.choice([n for n in driver.nodes if n not in flapping])
                        flapping[node] = now
                        driver.pool.submit(driver.flap, node, "true")
                        next_flap = now + args.flap_every
                    tick += 1.0
                    time.sleep(max(0.0, tick - time.monotonic()))
                for node in flapping:
                    driver.flap(node, "")
                window_end = now_ms()
                after = recorder.stats()
                time.sleep(3)  # the window's last changes reach the file
            finally:
                driver.close()
                final = recorder.stop()
            analysis = analyse(out, driver, recorder.synced_ms, (window_start, window_end))
            file_mib = round(out.stat().st_size / 2**20, 1)
        window_s = (window_end - window_start) / 1000
        lists = after["list_requests"] - before["list_requests"]
        watches = after["watch_requests"] - before["watch_requests"]
        reconnects = after["reconnects"] - before["reconnects"]
        gaps_410 = [g for g in analysis["gaps"] if "410" in str(g.get("reason"))]
        result = {
            "schema": "validator.bench.recorder_at_scale/v1",
            "measured_at": datetime.now(tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "cpus": os.cpu_count(),
            "load_average_1m_before_after": [load_before, round(os.getloadavg()[0], 2)],
            "sandbox": {"nodes": args.nodes, "up_seconds": round(up_s, 1)},
            "workload": {
                "pods": args.pods,
                "fill_seconds": round(fill_s, 1),
                "churn_seconds": round(window_s, 1),
                "churn_pods_replaced_per_second": args.churn_per_second,
                "pod_lifetime_seconds_max": round(lifetime),
                "node_flap_every_seconds": args.flap_every,
                "node_flap_seconds": args.flap_seconds,
                "node_flaps": sum(1 for _, value, _ in driver.flaps_sent if value),
                "pods_created": len(driver.created_sent),
                "pods_deleted": len(driver.deleted_sent),
                "driver_errors": driver.errors,
            },
            "recorder": {
                "streams": 9,
                "lines": final.get("lines"),
                "lines_in_churn_window": after["lines"] - before["lines"],
                "lines_per_second_in_churn_window": round((after["lines"] - before["lines"]) / window_s, 1),
                "file_mib": file_mib,
                "cpu_seconds": final.get("cpu_seconds"),
                "peak_rss_mib": final.get("peak_rss_mib"),
                "requests_in_churn_window": {"list": lists, "watch": watches},
                "requests_per_second_in_churn_window": round((lists + watches) / window_s, 3),
                "requests_per_second_outside_watch_renewals": round((lists + reconnects) / window_s, 3),
                "requests_total": {"list": final.get("list_requests"), "watch": final.get("watch_requests")},
                "relists": final.get("relists"),
                "reconnects": final.get("reconnects"),
                "last_errors": final.get("last_errors"),
            },
            "gaps": {
                "total": len(analysis["gaps"]),
                "410_gone": len(gaps_410),
                "410_gone_relisted": sum(1 for g in gaps_410 if g.get("relist")),
                "other": [g for g in analysis["gaps"] if g not in gaps_410],
            },
            "lines_analysed": analysis["lines"],
            "pods_seen_in_phase": analysis["pods_seen"],
            "prometheus": "kept" if args.keep_prometheus else "stopped (see the module's docstring)",
            "lag": analysis["lag"],
        }
    finally:
        lifecycle.down(name)
    return result


def table(result: dict[str, Any]) -> str:
    rows = [f"{'phase':6} {'clock':28} {'n':>7} {'p50':>8} {'p99':>8} {'max':>8} {'res.':>6}"]
    for phase, by_source in result["lag"].items():
        for source, d in by_source.items():
            if not d["n"]:
                continue
            rows.append(
                f"{phase:6} {source:28} {d['n']:>7} {d['p50_ms']:>6.0f}ms {d['p99_ms']:>6.0f}ms "
                f"{d['max_ms']:>6.0f}ms {d['resolution_ms']:>5g}"
            )
    rec = result["recorder"]
    rows.append(
        f"requests/s in the churn window: {rec['requests_per_second_in_churn_window']} "
        f"({rec['requests_in_churn_window']}); outside watch renewals: "
        f"{rec['requests_per_second_outside_watch_renewals']}"
    )
    rows.append(f"gaps: {result['gaps']}")
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--nodes", type=int, default=1000)
    parser.add_argument("--pods", type=int, default=10_000)
    parser.add_argument("--churn-per-second", type=int, default=20)
    parser.add_argument("--churn-seconds", type=float, default=120)
    parser.add_argument("--settle-seconds", type=float, default=10)
    parser.add_argument("--flap-every", type=float, default=5, help="seconds between node failures")
    parser.add_argument("--flap-seconds", type=float, default=40, help="how long a node stays NotReady")
    parser.add_argument("--workers", type=int, default=16, help="driver requests in flight")
    parser.add_argument(
        "--keep-prometheus",
        action="store_true",
        help="leave the sandbox's Prometheus scraping every simulated kubelet each second",
    )
    parser.add_argument("--sandbox-name", default="", help="default: recorder-scale-<random>")
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    result = run(args)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=2) + "\n")
    print(table(result))
    print(f"written: {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
