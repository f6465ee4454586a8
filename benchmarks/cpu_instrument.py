"""Is the sandbox's CPU instrument right? Simulated versus measured CPU utilisation, per agent type.

Runs the nightly suite (suites/nightly.yaml) on a sandbox with the reference platform (overlay
`testing`) and compares, per agent type:

- **simulated**: the ground truth, from the cluster's own objects as the run's recorder saw them
  (evidence/k8s.jsonl, every pod update with its receipt time in ms): each pod's
  `sim.validator.io/cpu` annotation over the time it was Running, times its containers, over the
  CPU it requested over the same time (the recorder's receipt times are a few ms late at both
  ends of a Running interval, docs/recorder.md, so they cancel);
- **measured**: the run's own `cpu_utilization` value (summary.json): the sum over the query steps
  of sum(rate(container_cpu_usage_seconds_total[20s])) over the sum of the Running pods' requests
  (kube-state-metrics), see src/validator/criteria/cpu_utilization.py.

and splits the difference into three factors, each the ratio of what a stage of the measurement
chain saw to the truth of the same thing:

- `counter`: for stage pods that lived and finished inside the window, the final value of their
  CPU counter (Prometheus, `last_over_time`) over their simulated CPU seconds: the instrument
  itself;
- `numerator`: the run's usage samples (evidence/metrics.json, the sum over steps x step) over the
  simulated CPU seconds in the window: the counter, rate() (its extrapolation at a series' kinks,
  20 s window trailing the step) and the window's edges together;
- `denominator`: the run's request samples x step over the simulated request-seconds: the 5 s
  sampling of kube-state-metrics' phase.

measured / simulated = numerator / denominator (to the pairing of the two sample series). It also
counts counter resets Prometheus saw (`resets()`; a decrease of the counter reads as a reset and
adds the whole counter) against the pods that were replaced under the same name (a new container,
a genuine reset).

    .venv/bin/python benchmarks/cpu_instrument.py --label after --name instrument [--runs 2]
    .venv/bin/python benchmarks/cpu_instrument.py --label before --run-dir RUN_DIR --name instrument

The first starts a fresh sandbox NAME for each run (default `cpu-instrument`; one already up is
only stopped with --fresh), deploys the platform, runs the nightly, and stops the sandbox at the end
(--keep leaves the last one up); the second analyses a run already made (with the sandbox that made
it still up, for the Prometheus figures). Results go to benchmarks/results/cpu_instrument.json
under the label (other labels are kept); a table is printed.

Before/after: the `before` figures were taken with the counter and simulated platform of the
commit that removed the stage floor (kwok's read-driven counter), by running this script from
this tree with PYTHONPATH pointing at a checkout of that commit's src/ and --counter-delay 0.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import os
import platform
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "cpu_instrument.json"
CPU = "sim.validator.io/cpu"
COUNTER_DELAY_S = 3.0  # validator.sandbox.usage.COUNTER_DELAY_S (0 for kwok's read-driven counter)
COMPLETE_AFTER = "sim.validator.io/complete-after"
DEFAULT_CPU = 0.01  # kwok/usage.yaml: a pod without the annotation uses 10m
POOLS = ("implementation", "quality", "testing", "system")
SHORT_STAGE_S = 5.0


# --- reading the run (pure) -----------------------------------------------------------------------


def epoch(text: str) -> float:
    value = text[:-1] + "+00:00" if text.endswith("Z") else text
    return datetime.fromisoformat(value).timestamp()


def quantity(text: str) -> float:
    text = str(text).strip()
    if text.endswith("m"):
        return float(text[:-1]) / 1000
    return float(text)


@dataclass
class PodHistory:
    """One pod (by uid) as the recorder saw it: Running intervals and its CPU annotation over time."""

    name: str
    namespace: str
    labels: dict[str, str]
    containers: int
    request: float  # CPU requested by the whole pod, cores
    complete_after: str | None
    start_time: float | None = None  # status.startTime, whole seconds
    changes: list[tuple[float, float]] = field(default_factory=list)  # (t, cores per container)
    running: list[list[float]] = field(default_factory=list)  # [start, end]; end inf while open

    def cpu_at(self, t: float) -> float:
        value = DEFAULT_CPU
        for at, cores in self.changes:
            if at > t:
                break
            value = cores
        return value

    def segments(self, start: float, end: float) -> Iterator[tuple[float, float, float]]:
        """(from, to, pod cores) over the Running time inside [start, end]."""
        for run_start, run_end in self.running:
            lo, hi = max(run_start, start), min(run_end, end)
            if hi <= lo:
                continue
            cuts = sorted({lo, hi, *(t for t, _ in self.changes if lo < t < hi)})
            for a, b in itertools.pairwise(cuts):
                yield a, b, self.cpu_at(a) * self.containers


def _requests(spec: dict[str, Any]) -> tuple[int, float]:
    containers = spec.get("containers") or []
    total = 0.0
    for c in containers:
        raw = ((c.get("resources") or {}).get("requests") or {}).get("cpu")
        total += quantity(raw) if raw is not None else 0.0
    return len(containers), total


def pod_histories(lines: Iterable[dict[str, Any]], namespaces: set[str]) -> dict[str, PodHistory]:
    pods: dict[str, PodHistory] = {}
    for record in sorted(lines, key=lambda r: r.get("received_ms", r.get("from_ms", 0))):
        if record.get("kind") != "Pod" or record.get("type") == "GAP":
            continue
        if record.get("namespace") not in namespaces:
            continue
        obj = record.get("object") or {}
        meta = obj.get("metadata") or {}
        uid = str(record.get("uid") or meta.get("uid") or "")
        if not uid:
            continue
        t = record["received_ms"] / 1000
        pod = pods.get(uid)
        if pod is None:
            containers, request = _requests(obj.get("spec") or {})
            annotations = meta.get("annotations") or {}
            pod = pods[uid] = PodHistory(
                name=meta.get("name", ""),
                namespace=meta.get("namespace", ""),
                labels=dict(meta.get("labels") or {}),
                containers=containers,
                request=request,
                complete_after=annotations.get(COMPLETE_AFTER),
            )
        started = (obj.get("status") or {}).get("startTime")
        if pod.start_time is None and started:
            pod.start_time = epoch(started)
        cpu = quantity((meta.get("annotations") or {}).get(CPU, DEFAULT_CPU))
        if not pod.changes or pod.changes[-1][1] != cpu:
            pod.changes.append((t, cpu))
        running = (obj.get("status") or {}).get("phase") == "Running" and record["type"] != "DELETED"
        is_open = bool(pod.running) and math.isinf(pod.running[-1][1])
        if running and not is_open:
            pod.running.append([t, math.inf])
        elif not running and is_open:
            pod.running[-1][1] = t
    return pods


@dataclass
class Truth:
    cpu_s: float = 0.0  # simulated CPU seconds used inside the window
    request_s: float = 0.0  # CPU request-seconds of Running pods inside the window
    pods: int = 0
    stage_pods: int = 0
    short_stage_pods: int = 0
    stage_seconds: list[float] = field(default_factory=list)
    sampling_variance: float = 0.0  # of the request-seconds the query steps count, (core-s)^2

    @property
    def utilisation(self) -> float:
        return self.cpu_s / self.request_s if self.request_s else math.nan


def agent_of(pod: PodHistory, agent_label: str) -> str:
    return pod.labels.get(agent_label, "")


def is_controller(pod: PodHistory, selector: str) -> bool:
    wanted = dict(part.split("=", 1) for part in selector.split(",") if "=" in part)
    return bool(wanted) and all(pod.labels.get(k) == v for k, v in wanted.items())


def step_sampling_variance(seconds: float, step: float) -> float:
    """Variance of step x (query steps that find a pod Running) for a pod Running `seconds`, at a
    random phase to the steps: n or n + 1 steps, n + 1 with probability frac(seconds / step)."""
    if step <= 0:
        return 0.0
    q = seconds / step - math.floor(seconds / step)
    return step * step * q * (1 - q)


def truth_by_agent(
    pods: dict[str, PodHistory],
    start: float,
    end: float,
    agent_label: str,
    controller_selector: str,
    step: float = 0.0,
) -> dict[str, Truth]:
    out: dict[str, Truth] = defaultdict(Truth)
    for pod in pods.values():
        agent = agent_of(pod, agent_label)
        if not agent or is_controller(pod, controller_selector):
            continue
        truth = out[agent]
        used = False
        for a, b, cores in pod.segments(start, end):
            truth.cpu_s += cores * (b - a)
            truth.request_s += pod.request * (b - a)
            used = True
        if not used:
            continue
        for run_start, run_end in pod.running:
            inside = min(run_end, end) - max(run_start, start)
            if inside > 0:
                truth.sampling_variance += pod.request**2 * step_sampling_variance(inside, step)
        truth.pods += 1
        if pod.complete_after is not None:
            truth.stage_pods += 1
            lived = sum(min(e, end) - s for s, e in pod.running)
            truth.stage_seconds.append(lived)
            truth.short_stage_pods += lived < SHORT_STAGE_S
    return dict(out)


def finished_inside(pod: PodHistory, start: float, end: float) -> bool:
    """The pod started (by its own start time) and stopped running inside [start, end]."""
    return (
        bool(pod.running)
        and pod.start_time is not None
        and pod.start_time >= start
        and all(start <= s and e <= end for s, e in pod.running)
    )


def simulated_cpu_seconds(pod: PodHistory) -> float:
    return sum(cores * (b - a) for a, b, cores in pod.segments(-math.inf, math.inf))


def measured_by_agent(summary: dict[str, Any]) -> dict[str, float]:
    for criterion in summary.get("criteria") or []:
        if criterion.get("id") == "cpu_utilization":
            return {
                str((r.get("scope") or {}).get("agent")): float(r["value"])
                for r in criterion.get("results") or []
                if r.get("value") is not None and (r.get("scope") or {}).get("agent")
            }
    return {}


def sample_seconds(
    metrics: dict[str, Any], key: str, agent_label: str, start: float, end: float
) -> dict[str, float]:
    """A per-agent query's values summed over the query steps inside the window, times the step,
    the first and the last step at half weight (n + 1 steps span n steps of time)."""
    step = float(metrics.get("step_seconds") or 0)
    query = (metrics.get("queries") or {}).get(key) or {}
    steps = [t for t in (start + k * step for k in range(int((end - start) / step) + 1)) if t <= end]
    edges = {round(steps[0], 3), round(steps[-1], 3)} if steps else set()
    out: dict[str, float] = defaultdict(float)
    for series in query.get("series") or []:
        agent = (series.get("labels") or {}).get(agent_label, "")
        for t, v in series.get("points") or []:
            if start <= float(t) <= end and math.isfinite(float(v)):
                weight = 0.5 if round(float(t), 3) in edges else 1.0
                out[agent] += weight * float(v) * step
    return dict(out)


def used_until(pod: PodHistory, t: float) -> float:
    """Simulated CPU seconds the pod used up to time t."""
    return sum(cores * (min(t, b) - a) for a, b, cores in pod.segments(-math.inf, t))


def counting_seconds(x: float, delay: float) -> float:
    """The sandbox counter's clock x seconds after a pod's start time (validator.sandbox.usage.
    counting_clock): still for `delay`, then twice as fast for as long, then in step."""
    if x <= delay:
        return 0.0
    return 2.0 * (x - delay) if x <= 2.0 * delay else x


def ideal_numerator(
    pods: Iterable[PodHistory], start: float, end: float, step: float, rate_window: float, delay: float
) -> float:
    """What the usage samples would sum to (x step, ends at half weight) if each pod's counter were
    exactly its simulated CPU on the counter's clock (what it used in its first `counting_seconds`
    since its start time) and rate() returned the increase over its window / the window, without
    extrapolation: the part of the numerator factor due to the window's edges, the trailing rate
    window and the counter's clock alone."""
    steps = [t for t in (start + k * step for k in range(int((end - start) / step) + 1)) if t <= end]
    total = 0.0
    for pod in pods:
        if not pod.running:
            continue
        began = pod.running[0][0]
        origin = pod.start_time if pod.start_time is not None else began

        def counter(t: float, pod: PodHistory = pod, began: float = began, origin: float = origin) -> float:
            return used_until(pod, began + counting_seconds(t - origin, delay))

        for index, t in enumerate(steps):
            weight = 0.5 if index in (0, len(steps) - 1) else 1.0
            total += weight * step * (counter(t) - counter(t - rate_window)) / rate_window
    return total


def rate_window_of(metrics: dict[str, Any]) -> float:
    promql = ((metrics.get("queries") or {}).get("cpu_usage_by_agent") or {}).get("promql", "")
    match = re.search(r"\[(\d+)s\]", promql)
    return float(match[1]) if match else 20.0


def metric_label(agent_label: str) -> str:
    return "label_" + "".join(ch if ch.isalnum() else "_" for ch in agent_label)


# --- Prometheus (the sandbox must still be up) ---------------------------------------------------


def prom_query(url: str, promql: str, at: float) -> list[dict[str, Any]]:
    query = urllib.parse.urlencode({"query": promql, "time": f"{at:.3f}"})
    with urllib.request.urlopen(f"{url}/api/v1/query?{query}", timeout=60) as response:
        body = json.loads(response.read())
    return list(body["data"]["result"])


def in_step_by_agent(metrics: dict[str, Any], agent_label: str, start: float, end: float) -> dict[str, float]:
    """The run's usage samples over its request samples averaged over the same trailing window as
    the usage's rate() (the step's sample and the ones before it, 20 s / 5 s = 4 of them), instead
    of the requests at the step alone: what the criterion would read with its numerator and
    denominator in step (kube-state-metrics is scraped every 5 s, so the steps hold all there is)."""
    queries = metrics.get("queries") or {}
    step = float(metrics.get("step_seconds") or 0)
    if step <= 0:
        return {}
    span = max(1, round(rate_window_of(metrics) / step))

    def by_agent(key: str) -> dict[str, dict[float, float]]:
        out: dict[str, dict[float, float]] = defaultdict(dict)
        for series in (queries.get(key) or {}).get("series") or []:
            agent = (series.get("labels") or {}).get(agent_label, "")
            for t, v in series.get("points") or []:
                if math.isfinite(float(v)):
                    out[agent][round(float(t), 3)] = float(v)
        return out

    used, asked = by_agent("cpu_usage_by_agent"), by_agent("cpu_requests_by_agent")
    out = {}
    for agent, points in used.items():
        requests = asked.get(agent, {})
        pairs = []
        for t, v in points.items():
            if not start <= t <= end:
                continue
            earlier = [round(t - k * step, 3) for k in range(span) if t - k * step >= start - 1e-6]
            averaged = sum(requests.get(e, 0.0) for e in earlier) / len(earlier)
            if averaged > 0:
                pairs.append((v, averaged))
        if pairs:
            out[agent] = sum(u for u, _ in pairs) / sum(r for _, r in pairs)
    return out


def raw_counters(
    url: str, namespaces: Iterable[str], start: float, end: float
) -> dict[tuple[str, str, str], list[tuple[float, float]]]:
    """Every raw sample of every container CPU counter in [start, end]."""
    matcher = "|".join(sorted(namespaces))
    span = max(1, math.ceil(end - start))
    promql = f'container_cpu_usage_seconds_total{{namespace=~"{matcher}",container!=""}}[{span}s]'
    out = {}
    for r in prom_query(url, promql, end):
        m = r["metric"]
        out[(m["namespace"], m["pod"], m["container"])] = [(float(t), float(v)) for t, v in r["values"]]
    return out


def window_increase(
    samples: list[tuple[float, float]], lo: float, hi: float, extrapolate: bool
) -> float | None:
    """The increase of a counter over [lo, hi]: as Prometheus 2.x's increase() computes it from the
    samples inside (extrapolated to the window's edges), or the true one, the counter interpolated
    linearly between its samples at lo and at hi (before its first sample it held its first value,
    after its last its last). Resets (a sample below the one before) count from 0."""
    if extrapolate:
        points = [(t, v) for t, v in samples if lo <= t <= hi]
        if len(points) < 2:
            return None
        result = points[-1][1] - points[0][1]
        for (_, a), (_, b) in itertools.pairwise(points):
            if b < a:
                result += a
        sampled = points[-1][0] - points[0][0]
        average = sampled / (len(points) - 1)
        to_start, to_end = points[0][0] - lo, hi - points[-1][0]
        if result > 0 and points[0][1] >= 0:
            to_start = min(to_start, sampled * points[0][1] / result)
        threshold = average * 1.1
        extended = sampled + (to_start if to_start < threshold else average / 2)
        extended += to_end if to_end < threshold else average / 2
        return result * extended / sampled
    if not samples or samples[-1][0] < lo or samples[0][0] > hi:
        return None
    return _cumulative_at(samples, hi) - _cumulative_at(samples, lo)


def _cumulative_at(samples: list[tuple[float, float]], at: float) -> float:
    """The counter's increase since its first sample, interpolated at `at` (resets from 0)."""
    total = 0.0
    for (t0, v0), (t1, v1) in itertools.pairwise(samples):
        gained = v1 - v0 if v1 >= v0 else v1
        if at >= t1:
            total += gained
        else:
            if at > t0:
                total += gained * (at - t0) / (t1 - t0)
            break
    return total


def numerator_from_samples(
    series: dict[tuple[str, str, str], list[tuple[float, float]]],
    agent_of_pod: dict[tuple[str, str], str],
    start: float,
    end: float,
    step: float,
    rate_window: float,
    extrapolate: bool,
) -> dict[str, float]:
    """The usage samples x step (ends at half weight) per agent, from the raw counter samples: the
    run's own figure with extrapolation (a check of this emulation), without it the increase each
    window really saw."""
    steps = [t for t in (start + k * step for k in range(int((end - start) / step) + 1)) if t <= end]
    out: dict[str, float] = defaultdict(float)
    for (namespace, pod, _), samples in series.items():
        agent = agent_of_pod.get((namespace, pod))
        if not agent:
            continue
        for index, t in enumerate(steps):
            gained = window_increase(samples, t - rate_window, t, extrapolate)
            if gained is not None:
                weight = 0.5 if index in (0, len(steps) - 1) else 1.0
                out[agent] += weight * step * gained / rate_window
    return dict(out)


def final_counters(
    url: str, namespaces: Iterable[str], start: float, end: float
) -> dict[tuple[str, str], float]:
    """Last value of each pod's CPU counter (summed over containers) seen in [start, end]."""
    matcher = "|".join(sorted(namespaces))
    span = max(1, math.ceil(end - start))
    promql = (
        f'sum by (namespace, pod) (last_over_time(container_cpu_usage_seconds_total{{namespace=~"{matcher}",'
        f'container!=""}}[{span}s]))'
    )
    return {
        (r["metric"]["namespace"], r["metric"]["pod"]): float(r["value"][1])
        for r in prom_query(url, promql, end)
    }


def counter_resets(
    url: str, namespaces: Iterable[str], start: float, end: float
) -> dict[tuple[str, str], int]:
    matcher = "|".join(sorted(namespaces))
    span = max(1, math.ceil(end - start))
    promql = (
        f'sum by (namespace, pod) (resets(container_cpu_usage_seconds_total{{namespace=~"{matcher}",'
        f'container!=""}}[{span}s])) > 0'
    )
    return {
        (r["metric"]["namespace"], r["metric"]["pod"]): round(float(r["value"][1]))
        for r in prom_query(url, promql, end)
    }


# --- one run ---------------------------------------------------------------------------------------


def analyse(run_dir: Path, prometheus_url: str | None, delay: float = COUNTER_DELAY_S) -> dict[str, Any]:
    manifest = json.loads((run_dir / "manifest.json").read_text())
    summary = json.loads((run_dir / "summary.json").read_text())
    metrics = json.loads((run_dir / "evidence" / "metrics.json").read_text())
    window = metrics.get("window") or manifest["window"]
    start, end = epoch(window["start"]), epoch(window["end"])
    agent_label = manifest.get("agent_label", "app.kubernetes.io/name")
    selector = manifest.get("controller_selector", "")
    namespaces = set(manifest.get("namespaces") or ["agents"])
    with (run_dir / "evidence" / "k8s.jsonl").open() as handle:
        lines = [json.loads(line) for line in handle if line.strip()]
    gaps = [r for r in lines if r.get("type") == "GAP" and r.get("kind") == "Pod"]
    pods = pod_histories(lines, namespaces)
    step = float(metrics.get("step_seconds") or 0)
    rate_window = rate_window_of(metrics)
    truth = truth_by_agent(pods, start, end, agent_label, selector, step)
    measured = measured_by_agent(summary)
    label = metric_label(agent_label)
    used = sample_seconds(metrics, "cpu_usage_by_agent", label, start, end)
    asked = sample_seconds(metrics, "cpu_requests_by_agent", label, start, end)

    finals: dict[tuple[str, str], float] = {}
    resets: dict[tuple[str, str], int] = {}
    aligned = in_step_by_agent(metrics, label, start, end)
    emulated: dict[str, float] = {}
    unextrapolated: dict[str, float] = {}
    if prometheus_url:
        series = raw_counters(prometheus_url, namespaces, start - rate_window - 5, end)
        agent_of_pod = {
            (pod.namespace, pod.name): agent_of(pod, agent_label)
            for pod in pods.values()
            if not is_controller(pod, selector)
        }
        emulated = numerator_from_samples(series, agent_of_pod, start, end, step, rate_window, True)
        unextrapolated = numerator_from_samples(series, agent_of_pod, start, end, step, rate_window, False)
        # the counters of pods that finished near the end are read until they are deleted (120 s)
        finals = final_counters(prometheus_url, namespaces, start - 60, end + 150)
        resets = counter_resets(prometheus_url, namespaces, start, end)
    names: dict[tuple[str, str], int] = defaultdict(int)
    for pod in pods.values():
        if any(s < end and e > start for s, e in pod.running):
            names[(pod.namespace, pod.name)] += 1
    replaced = {key: n - 1 for key, n in names.items() if n > 1}

    agents: dict[str, Any] = {}
    for agent in sorted(set(measured) | set(truth)):
        if agent not in measured or agent not in truth:
            continue
        t = truth[agent]
        counted = simulated = 0.0
        for pod in pods.values():
            if agent_of(pod, agent_label) != agent or pod.complete_after is None:
                continue
            if not finished_inside(pod, start, end) or (pod.namespace, pod.name) not in finals:
                continue
            counted += finals[(pod.namespace, pod.name)]
            simulated += simulated_cpu_seconds(pod)
        numerator = used.get(agent, math.nan) / t.cpu_s if t.cpu_s else math.nan
        mine = [
            pod
            for pod in pods.values()
            if agent_of(pod, agent_label) == agent and not is_controller(pod, selector)
        ]
        edges = ideal_numerator(mine, start, end, step, rate_window, delay) / t.cpu_s if t.cpu_s else math.nan
        denominator = asked.get(agent, math.nan) / t.request_s if t.request_s else math.nan
        simulated_u = t.utilisation
        agents[agent] = {
            "simulated": round(t.utilisation, 4),
            "measured": round(measured[agent], 4),
            "difference_points": round(100 * (measured[agent] - t.utilisation), 2),
            "measured_with_requests_in_step": round(aligned[agent], 4) if agent in aligned else None,
            "factors": {
                "counter": round(counted / simulated, 4) if simulated else None,
                "numerator": round(numerator, 4),
                # of which the window's edges with the trailing rate window and the counter's delay
                # (an exact counter, rate() without extrapolation)
                "numerator_edges": round(edges, 4),
                # of which rate()'s extrapolation: the run's usage samples over the same sums made
                # from the raw counter samples, interpolated at each window's edges (and the
                # emulation of rate() from the same samples, a check)
                "rate_extrapolation": round(used[agent] / unextrapolated[agent], 4)
                if unextrapolated.get(agent) and agent in used
                else None,
                "emulated_numerator_check": round(emulated[agent] / used[agent], 4)
                if emulated.get(agent) and used.get(agent)
                else None,
                "denominator": round(denominator, 4),
                # one standard deviation of the denominator factor expected from the query steps
                # sampling the pods' Running phase (short pods are found by 0 or 1 step)
                "denominator_sampling_sd": round(math.sqrt(t.sampling_variance) / t.request_s, 4)
                if t.request_s
                else None,
            },
            # the difference in points, to first order: the window's edges, the rest of the
            # numerator (counter and rate()), the denominator's sampling
            "points": {
                "edges": round(100 * simulated_u * (edges - 1), 2),
                "counter_and_rate": round(100 * simulated_u * (numerator / edges - 1), 2),
                "denominator": round(-100 * simulated_u * (denominator - 1), 2),
            },
            "cpu_seconds": round(t.cpu_s, 1),
            "request_seconds": round(t.request_s, 1),
            "pods": t.pods,
            "stage_pods": t.stage_pods,
            "stage_pods_under_5s": t.short_stage_pods,
            "stage_seconds_median": round(statistics.median(t.stage_seconds), 2) if t.stage_seconds else None,
            "counter_resets": sum(
                n for (ns, pod), n in resets.items() if _agent_of_name(pods, ns, pod, agent_label) == agent
            ),
        }
    verdicts = {c["id"]: c.get("verdict") for c in summary.get("criteria") or []}
    return {
        "run_id": manifest.get("run_id"),
        "date": window["start"],
        "window_seconds": round(end - start, 1),
        "verdict": summary.get("verdict"),
        "cpu_utilization_verdict": verdicts.get("cpu_utilization"),
        "recorder_gaps": len(gaps),
        "counter_resets_total": sum(resets.values()),
        "pods_replaced_under_the_same_name": sum(replaced.values()),
        "agents": agents,
    }


def _agent_of_name(pods: dict[str, PodHistory], namespace: str, name: str, agent_label: str) -> str:
    for pod in pods.values():
        if pod.namespace == namespace and pod.name == name:
            return agent_of(pod, agent_label)
    return ""


# --- making a run ----------------------------------------------------------------------------------


def make_run(name: str, out: Path) -> Path:
    from kubernetes import client

    from validator.safety.allowlist import ContextEntry, Limits, read_identity, save_entry
    from validator.sandbox import lifecycle

    bin_dir = Path(sys.executable).parent
    deploy = subprocess.run(
        [str(bin_dir / "validator"), "sandbox", "deploy", "testing", "--name", name],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
    )
    if deploy.returncode != 0:
        raise SystemExit(f"deploy failed:\n{deploy.stdout}{deploy.stderr}")
    info = lifecycle.load_info(name)
    assert info is not None
    api = lifecycle.api_client(info)
    try:
        identity, _ = read_identity(info.context, info.kubeconfig)
        uid = client.CoreV1Api(api).read_namespace("kube-system").metadata.uid
    finally:
        api.close()
    allowlist = out.parent / f"{out.name}-allowlist.yaml"
    save_entry(
        ContextEntry(
            name=info.context,
            server=identity.server,
            ca_sha256=identity.ca_sha256,
            kube_system_uid=str(uid),
            namespaces=("agents", "workflow-system"),
            node_pools=POOLS,
            limits=Limits(max_cordoned_nodes=1, max_workload_share=0.5),
        ),
        allowlist,
    )
    env = {
        k: v for k, v in os.environ.items() if not k.startswith("VALIDATOR_") or k == "VALIDATOR_SANDBOX_DIR"
    }
    env.update(
        VALIDATOR_ALLOWLIST=str(allowlist),
        KUBECONFIG=info.kubeconfig,
        VALIDATOR_PROMETHEUS_URL=info.prometheus_url,
        VALIDATOR_WORKFLOW_API_URL=info.workflow_api_url,
        COLUMNS="250",
    )
    started = time.monotonic()
    proc = subprocess.run(
        [
            str(bin_dir / "validator"),
            "run",
            "suites/nightly.yaml",
            "--context",
            info.context,
            "--output",
            str(out),
        ],
        env=env,
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=1800,
    )
    print(f"nightly {out.name}: exit {proc.returncode} in {time.monotonic() - started:.0f} s", flush=True)
    if not (out / "summary.json").is_file():
        raise SystemExit(f"the run wrote no summary.json:\n{proc.stdout[-3000:]}{proc.stderr[-3000:]}")
    return out


# --- results ---------------------------------------------------------------------------------------


def aggregate(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Per agent: simulated and measured utilisation pooled over the runs (ratio of sums for the
    truth, mean for the measured value), and the largest difference of a single run."""
    out: dict[str, Any] = {}
    agents = sorted({a for r in runs for a in r["agents"]})
    for agent in agents:
        rows = [r["agents"][agent] for r in runs if agent in r["agents"]]
        cpu = sum(row["cpu_seconds"] for row in rows)
        asked = sum(row["request_seconds"] for row in rows)
        simulated = cpu / asked if asked else math.nan
        measured = statistics.fmean(row["measured"] for row in rows)
        in_step = [row["measured_with_requests_in_step"] for row in rows]
        points = {
            key: round(statistics.fmean(row["points"][key] for row in rows), 2)
            for key in ("edges", "counter_and_rate", "denominator")
        }
        out[agent] = {
            "simulated": round(simulated, 4),
            "measured": round(measured, 4),
            "difference_points": round(100 * (measured - simulated), 2),
            "worst_run_difference_points": max((row["difference_points"] for row in rows), key=abs),
            "mean_points": points,
            "measured_with_requests_in_step": round(statistics.fmean(in_step), 4)
            if all(v is not None for v in in_step)
            else None,
            "runs": len(rows),
        }
    return out


def save(label: str, runs: list[dict[str, Any]], note: str) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    doc.setdefault("benchmark", "cpu_instrument")
    doc["description"] = (
        "Simulated vs measured CPU utilisation per agent type in the sandbox's nightly (reference "
        "platform); see the docstring of benchmarks/cpu_instrument.py for the method and factors"
    )
    doc["machine"] = {"cpus": os.cpu_count(), "python": platform.python_version()}
    labels = doc.setdefault("labels", {})
    labels[label] = {
        "measured_on": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "note": note,
        "summary": aggregate(runs),
        "runs": runs,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(doc, indent=2) + "\n")
    return doc


def print_table(label: str, runs: list[dict[str, Any]]) -> None:
    print(f"\n{label}: {len(runs)} nightly run(s)")
    header = (
        f"{'agent':<8} {'simulated':>9} {'measured':>9} {'diff pts':>8}   "
        f"{'counter':>7} {'numer.':>7} {'edges':>7} {'denom.':>7} {'(sd)':>6} {'stage pods':>10} {'<5s':>5} "
        f"{'resets':>6}"
    )
    for run in runs:
        print(f"  run {run['run_id']} ({run['window_seconds']:.0f} s window, verdict {run['verdict']})")
        print("  " + header)
        for agent, row in run["agents"].items():
            f = row["factors"]
            counter = f"{f['counter']:.4f}" if f["counter"] is not None else "-"
            print(
                f"  {agent:<8} {row['simulated']:>9.2%} {row['measured']:>9.2%} "
                f"{row['difference_points']:>+8.2f}   {counter:>7} {f['numerator']:>7.4f} "
                f"{f['numerator_edges']:>7.4f} {f['denominator']:>7.4f} {f['denominator_sampling_sd']:>6.3f} "
                f"{row['stage_pods']:>10} {row['stage_pods_under_5s']:>5} "
                f"{row['counter_resets']:>6}"
            )
        print(
            f"  counter resets {run['counter_resets_total']}, pods replaced under the same name "
            f"{run['pods_replaced_under_the_same_name']}"
        )
    print("  points, to first order: edges + counter and rate() + denominator sampling")
    for run in runs:
        cells = ", ".join(
            f"{agent} {p['edges']:+.2f} {p['counter_and_rate']:+.2f} {p['denominator']:+.2f}"
            for agent, p in ((a, row["points"]) for a, row in run["agents"].items())
        )
        print(f"  {run['run_id']}: {cells}")
    print("  measured with the requests averaged over the usage's rate window (in step):")
    for run in runs:
        cells = ", ".join(
            f"{agent} {row['measured_with_requests_in_step']:.2%}"
            for agent, row in run["agents"].items()
            if row["measured_with_requests_in_step"] is not None
        )
        print(f"  {run['run_id']}: {cells}")
    print("  pooled:")
    for agent, row in aggregate(runs).items():
        print(
            f"  {agent:<8} {row['simulated']:>9.2%} {row['measured']:>9.2%} {row['difference_points']:>+8.2f}"
            f"   (worst run {row['worst_run_difference_points']:+.2f})"
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--label", required=True, help="where the figures go, e.g. before / after")
    parser.add_argument("--name", default="cpu-instrument", help="sandbox name (started if not up)")
    parser.add_argument("--runs", type=int, default=1, help="nightly runs to make")
    parser.add_argument("--run-dir", type=Path, action="append", default=[], help="analyse this run instead")
    parser.add_argument("--note", default="", help="a line saved with the figures")
    parser.add_argument("--keep", action="store_true", help="leave the last run's sandbox up")
    parser.add_argument(
        "--fresh", action="store_true", help="stop a sandbox NAME already up (each run starts its own)"
    )
    parser.add_argument("--output", type=Path, help="keep the run directories here (default: deleted)")
    parser.add_argument(
        "--counter-delay",
        type=float,
        default=COUNTER_DELAY_S,
        help="seconds the CPU counter starts after the pod's start time (0 for kwok's own counter)",
    )
    args = parser.parse_args()
    # a TERM (e.g. from a CI timeout) unwinds like Ctrl-C: the run is stopped and the sandbox removed
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

    from validator.sandbox import lifecycle

    current = lifecycle.status(args.name)
    if args.run_dir:
        info = current.info if current is not None and current.prometheus_ready else None
        url = info.prometheus_url if info else None
        if url is None:
            print(f"sandbox {args.name} is not up: the counter and reset figures are left out", flush=True)
        runs = [analyse(d, url, args.counter_delay) for d in args.run_dir]
    else:
        if current is not None and not args.fresh:
            raise SystemExit(f"sandbox {args.name} is up: each run starts a fresh one (--fresh stops it)")
        runs = []
        try:
            with tempfile.TemporaryDirectory(prefix="cpu-instrument-") as tmp:
                parent = args.output or Path(tmp)
                parent.mkdir(parents=True, exist_ok=True)
                for index in range(args.runs):
                    # a fresh sandbox per run: a platform left running by the previous run would
                    # still be draining its queue into this one's window
                    lifecycle.down(args.name)
                    lifecycle.up(
                        lifecycle.SandboxOptions(name=args.name),
                        progress=lambda m: print(f"[sandbox] {m}", flush=True),
                    )
                    run_dir = make_run(args.name, parent / f"{args.label}-{index + 1}")
                    info = lifecycle.load_info(args.name)
                    assert info is not None
                    runs.append(analyse(run_dir, info.prometheus_url, args.counter_delay))
        finally:
            if not args.keep:
                lifecycle.down(args.name)
    save(args.label, runs, args.note)
    print_table(args.label, runs)
    print(f"\nwritten to {RESULTS.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
