"""PromQL text shared by the criteria, the two placeholders, and a light syntax check.

Placeholders, replaced literally (not with `str.format`, PromQL is full of braces):
`{agent_label}` -> the kube-state-metrics label of the agent key (`label_app_kubernetes_io_name`),
`{namespace_matcher}` -> a label matcher such as `namespace=~"agents|tools"` (last in its selector,
so an empty matcher leaves a valid trailing comma),
`{rate_window}` -> the range of `rate()`: `5m` on a real cluster; in a compressed run the same five
minutes divided by the time factor (never under four query steps), e.g. `20s` in the sandbox,
`{forecast_range}` -> how far back a capacity trend looks: a week of cluster time (`604800s`),
divided by the time factor in a compressed run, and `{forecast_step}` -> its subquery resolution
(the range / 168: hourly over a real week),
`{sample_step}` -> the resolution of a subquery that averages a gauge over the rate window: a fifth
of the query step, at least 1 s (`3s` at a real cluster's 15 s step, `1s` in the sandbox). Left to
its default (the server's evaluation interval, 5 s in the sandbox) it sampled kube-state-metrics'
requests of 2-6 s review pods once or not at all, and Cleo's CPU read 10 points off in a 90 s run.

The collector renders every query with `render_query`; `QueryRanges.for_run` sizes the ranges.
"""

from __future__ import annotations

from dataclasses import dataclass

AGENT_LABEL = "{agent_label}"
NAMESPACE_MATCHER = "{namespace_matcher}"
RATE_WINDOW = "{rate_window}"
FORECAST_RANGE = "{forecast_range}"
FORECAST_STEP = "{forecast_step}"
SAMPLE_STEP = "{sample_step}"
PLACEHOLDERS = (AGENT_LABEL, NAMESPACE_MATCHER, RATE_WINDOW, FORECAST_RANGE, FORECAST_STEP, SAMPLE_STEP)
DEFAULT_RATE_WINDOW_S = 300.0
DEFAULT_FORECAST_RANGE_S = 7 * 86400.0
FORECAST_POINTS = 168
DEFAULT_STEP_S = 15.0  # a real cluster's query step (the suites' real timings)
SAMPLES_PER_STEP = 5  # a gauge averaged over the rate window is read this often per query step


@dataclass(frozen=True, slots=True)
class QueryRanges:
    """The time ranges inside queries, in seconds of the run's clock."""

    rate_window_s: float = DEFAULT_RATE_WINDOW_S
    forecast_range_s: float = DEFAULT_FORECAST_RANGE_S
    sample_step_s: float = DEFAULT_STEP_S / SAMPLES_PER_STEP

    @classmethod
    def for_run(cls, time_factor: float, step_s: float) -> QueryRanges:
        return cls(
            rate_window_s=rate_window_seconds(time_factor, step_s),
            forecast_range_s=DEFAULT_FORECAST_RANGE_S / max(time_factor, 1.0),
            sample_step_s=max(1.0, step_s / SAMPLES_PER_STEP),
        )


REAL_CLUSTER_RANGES = QueryRanges()  # the brief's windows, uncompressed


def _seconds(value: float) -> str:
    return f"{max(1, round(value))}s"


_CONTAINERS = 'container!="",container!="POD",{namespace_matcher}'
_POD_AGENT = "max by (namespace, pod, {agent_label}) (kube_pod_labels{{namespace_matcher}})"
_RUNNING = 'max by (namespace, pod) (kube_pod_status_phase{phase="Running",{namespace_matcher}}) == 1'


def render_query(
    promql: str, *, agent_label: str, namespace_matcher: str, ranges: QueryRanges = REAL_CLUSTER_RANGES
) -> str:
    """Fill the placeholders. The collector calls this for every query it runs."""
    return (
        promql.replace(AGENT_LABEL, agent_label)
        .replace(NAMESPACE_MATCHER, namespace_matcher)
        .replace(RATE_WINDOW, _seconds(ranges.rate_window_s))
        .replace(FORECAST_RANGE, _seconds(ranges.forecast_range_s))
        .replace(FORECAST_STEP, _seconds(ranges.forecast_range_s / FORECAST_POINTS))
        .replace(SAMPLE_STEP, _seconds(ranges.sample_step_s))
    )


def rate_window_seconds(time_factor: float, step_s: float) -> float:
    """The five-minute rate window, compressed like the run's clock, but at least four query steps
    (a rate needs two samples in its range; four leave room for a missed scrape)."""
    return max(DEFAULT_RATE_WINDOW_S / max(time_factor, 1.0), 4.0 * step_s)


def per_agent_sum(inner: str) -> str:
    """`inner` (per namespace/pod series) summed per agent type through kube_pod_labels."""
    return f"sum by ({{agent_label}}) ({inner} * on(namespace, pod) group_left({{agent_label}}) {_POD_AGENT})"


def per_agent_mean(inner: str) -> str:
    """`inner` (per namespace/pod series) averaged per agent type over its pods, through kube_pod_labels."""
    return f"avg by ({{agent_label}}) ({inner} * on(namespace, pod) group_left({{agent_label}}) {_POD_AGENT})"


def container_rate(metric: str) -> str:
    return f"sum by (namespace, pod) (rate({metric}{{{_CONTAINERS}}}[{{rate_window}}]))"


def container_gauge(metric: str) -> str:
    return f"sum by (namespace, pod) ({metric}{{{_CONTAINERS}}})"


def running_pod_resource(metric: str, resource: str) -> str:
    """Requests or limits of running pods only, summed per namespace/pod."""
    return (
        f'sum by (namespace, pod) ({metric}{{resource="{resource}",{{namespace_matcher}}}}) '
        f"* on(namespace, pod) group_left() ({_RUNNING})"
    )


CPU_USAGE_BY_AGENT = per_agent_sum(container_rate("container_cpu_usage_seconds_total"))
# The usage is a rate over the trailing {rate_window}; the requests it is held against are averaged
# over the same trailing window, so a pod that ran in it counts in both. Sampled at the step alone,
# the requests missed the pods that ended within the window's span before a step while the rate
# still carried their use: at a run's edges (the pods an earlier run left, the last ones) a short
# compressed run read Cleo's 70% as 81%. The average reads the requests every {sample_step}: at the
# server's 5 s evaluation interval a 2-6 s pod was read once or not at all (docs/sandbox-contract.md).
CPU_REQUESTS_BY_AGENT = (
    "avg_over_time(("
    + per_agent_sum(running_pod_resource("kube_pod_container_resource_requests", "cpu"))
    + ")[{rate_window}:{sample_step}])"
)
MEMORY_WORKING_SET_BY_AGENT = per_agent_sum(container_gauge("container_memory_working_set_bytes"))
MEMORY_REQUESTS_BY_AGENT = per_agent_sum(
    running_pod_resource("kube_pod_container_resource_requests", "memory")
)
# What one pod of a type requests (averaged over its Running pods): the sizing itself, whatever the
# load made of the pod count. A type's summed requests rise and fall with its pods; these do not.
CPU_REQUEST_PER_POD_BY_AGENT = per_agent_mean(
    running_pod_resource("kube_pod_container_resource_requests", "cpu")
)
MEMORY_REQUEST_PER_POD_BY_AGENT = per_agent_mean(
    running_pod_resource("kube_pod_container_resource_requests", "memory")
)


def syntax_problems(promql: str) -> list[str]:
    """A light check: non-empty, brackets balanced and nested, quotes closed.

    Prometheus reports anything subtler with a 400 when the collector runs the query.
    """
    text = promql.strip()
    if not text:
        return ["empty query"]
    problems: list[str] = []
    pairs = {")": "(", "]": "[", "}": "{"}
    stack: list[tuple[str, int]] = []
    quote = ""
    escaped = False
    for pos, ch in enumerate(text):
        if quote:
            if escaped:
                escaped = False
            elif ch == "\\" and quote != "`":
                escaped = True
            elif ch == quote:
                quote = ""
            continue
        if ch in "\"'`":
            quote = ch
        elif ch in "([{":
            stack.append((ch, pos))
        elif ch in ")]}":
            if not stack or stack[-1][0] != pairs[ch]:
                closing = {"(": ")", "[": "]", "{": "}"}
                want = f" (expected {closing[stack[-1][0]]!r})" if stack else ""
                problems.append(f"unexpected {ch!r} at character {pos + 1}{want}")
                return problems
            stack.pop()
    if quote:
        problems.append(f"unclosed {quote} quote")
    for ch, pos in stack:
        problems.append(f"unclosed {ch!r} opened at character {pos + 1}")
    return problems


def workload_query(kind_metrics: tuple[tuple[str, str, str], ...], *, keep_labels: bool = False) -> str:
    """One series per workload of every kind (Deployment, StatefulSet, DaemonSet), each carrying a
    `workload` label `Kind/name`: the kube-state-metrics series of each kind joined with `or`.

    `kind_metrics` is (kind, metric, the metric's name label) per kind. Without `keep_labels` the
    result is reduced to (namespace, workload)."""
    parts = [
        f'label_replace({metric}{{{{namespace_matcher}}}}, "workload", "{kind}/$1", "{label}", "(.+)")'
        for kind, metric, label in kind_metrics
    ]
    joined = " or ".join(parts)
    return joined if keep_labels else f"max by (namespace, workload) ({joined})"
