"""PromQL text shared by the criteria, the two placeholders, and a light syntax check.

Placeholders, replaced literally (not with `str.format`, PromQL is full of braces):
`{agent_label}` -> the kube-state-metrics label of the agent key (`label_app_kubernetes_io_name`),
`{namespace_matcher}` -> a label matcher such as `namespace=~"agents|tools"` (last in its selector,
so an empty matcher leaves a valid trailing comma),
`{rate_window}` -> the range of `rate()`: `5m` on a real cluster; in a compressed run the same five
minutes divided by the time factor (never under four query steps), e.g. `20s` in the sandbox.
"""

from __future__ import annotations

AGENT_LABEL = "{agent_label}"
NAMESPACE_MATCHER = "{namespace_matcher}"
RATE_WINDOW = "{rate_window}"
PLACEHOLDERS = (AGENT_LABEL, NAMESPACE_MATCHER, RATE_WINDOW)
DEFAULT_RATE_WINDOW_S = 300.0

_CONTAINERS = 'container!="",container!="POD",{namespace_matcher}'
_POD_AGENT = "max by (namespace, pod, {agent_label}) (kube_pod_labels{{namespace_matcher}})"
_RUNNING = 'max by (namespace, pod) (kube_pod_status_phase{phase="Running",{namespace_matcher}}) == 1'


def render_query(
    promql: str, *, agent_label: str, namespace_matcher: str, rate_window_s: float = DEFAULT_RATE_WINDOW_S
) -> str:
    """Fill the placeholders. The collector calls this for every query it runs."""
    return (
        promql.replace(AGENT_LABEL, agent_label)
        .replace(NAMESPACE_MATCHER, namespace_matcher)
        .replace(RATE_WINDOW, f"{max(1, round(rate_window_s))}s")
    )


def rate_window_seconds(time_factor: float, step_s: float) -> float:
    """The five-minute rate window, compressed like the run's clock, but at least four query steps
    (a rate needs two samples in its range; four leave room for a missed scrape)."""
    return max(DEFAULT_RATE_WINDOW_S / max(time_factor, 1.0), 4.0 * step_s)


def per_agent_sum(inner: str) -> str:
    """`inner` (per namespace/pod series) summed per agent type through kube_pod_labels."""
    return f"sum by ({{agent_label}}) ({inner} * on(namespace, pod) group_left({{agent_label}}) {_POD_AGENT})"


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
CPU_REQUESTS_BY_AGENT = per_agent_sum(running_pod_resource("kube_pod_container_resource_requests", "cpu"))
MEMORY_WORKING_SET_BY_AGENT = per_agent_sum(container_gauge("container_memory_working_set_bytes"))
MEMORY_REQUESTS_BY_AGENT = per_agent_sum(
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
