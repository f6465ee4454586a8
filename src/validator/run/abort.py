"""A run that stops itself: the suite's `abort_on` rules, checked before and after each experiment.
Once the platform is already failing, further faults test nothing and only add damage: the run
skips the remaining experiments, lets the rollbacks finish, records why, and its verdict is fail.

`abort_reason` is pure (the interim verdicts, the firing alerts and the load's counts in, the reason
out); `AbortWatch` gathers those inputs during a run."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from validator.collect.prometheus import PrometheusCollector
from validator.config.suite_file import AbortRules
from validator.errors import EvidenceUnavailable
from validator.load.locust_process import LoadProgress
from validator.model import Summary, Verdict


def abort_reason(
    rules: AbortRules,
    live: Summary | None,
    firing: Sequence[dict[str, str]],
    load: LoadProgress | None,
) -> str:
    """Why the run must stop now ("" when no rule is met)."""
    reasons: list[str] = []
    if live is not None:
        for outcome in live.criteria:
            if outcome.id in rules.criteria and outcome.verdict is Verdict.FAIL:
                failed = next((r for r in outcome.results if r.verdict is Verdict.FAIL), None)
                detail = f" ({failed.scope_text}: {failed.detail})" if failed is not None else ""
                reasons.append(f"{outcome.id} failed{detail}")
    for labels in firing:
        name = labels.get("alertname", "")
        if name and name in rules.alerts:
            reasons.append(f"alert {name} is firing")
        elif rules.alert_severity and labels.get("severity") == rules.alert_severity:
            reasons.append(f"alert {name or '?'} ({rules.alert_severity}) is firing")
    if rules.load_error_ratio is not None and load is not None and load.total_requests > 0:
        ratio = load.total_failures / load.total_requests
        if ratio >= rules.load_error_ratio:
            reasons.append(
                f"the load's error ratio is {ratio:.0%} ({load.total_failures} of {load.total_requests} "
                f"requests failed; abort_on.load_error_ratio {rules.load_error_ratio:g})"
            )
    return "; ".join(dict.fromkeys(reasons))


class AbortWatch:
    """Checks a suite's abort_on rules during a run; `reason` stays set once a rule was met."""

    def __init__(
        self,
        rules: AbortRules,
        prometheus_url: str,
        load_progress: Callable[[], LoadProgress | None],
        warn: Callable[[str], None],
    ) -> None:
        self.rules = rules
        self._prometheus_url = prometheus_url
        self._load = load_progress
        self._warn = warn
        self.reason = ""

    def _firing(self) -> list[dict[str, str]]:
        if not (self.rules.alerts or self.rules.alert_severity):
            return []
        try:
            with PrometheusCollector(self._prometheus_url) as prometheus:
                return prometheus.firing_alerts()
        except EvidenceUnavailable as exc:  # no alert rule can be met on this check; say so
            self._warn(f"abort_on: {exc.what}")
            return []

    def check(self, live: Summary | None) -> str:
        """Evaluate the rules now, on `live` (the interim verdicts, when the rules name criteria);
        the reason when one is met (also kept in `reason`)."""
        if not self.reason:
            self.reason = abort_reason(self.rules, live, self._firing(), self._load())
        return self.reason
