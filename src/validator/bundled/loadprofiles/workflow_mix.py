"""The mix of workflows the load profiles submit, and how long a developer waits between submissions.

Pure data and arithmetic: no Locust import, so the runner and the tests can read it without the
gevent monkey-patching that `import locust` performs (docs/libraries.md).

Sizes follow the brief's "simple single-file changes to complex multi-service refactoring". Every
workflow runs one implementation agent (Rex or Blaze), then Cleo (quality), then Tess (testing);
the stage durations are real-cluster seconds, divided by the time factor in compressed runs.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

IMPLEMENTATION_AGENTS = ("rex", "blaze")
STAGE_AGENT_CLASS = {"rex": "implementation", "blaze": "implementation", "cleo": "quality", "tess": "testing"}


@dataclass(frozen=True, slots=True, kw_only=True)
class StageSpec:
    """One agent stage of a workflow size: how long it takes, in real-cluster seconds (min, max)."""

    agent_class: str  # implementation | quality | testing
    duration_s: tuple[float, float]


@dataclass(frozen=True, slots=True, kw_only=True)
class WorkflowSize:
    name: str
    weight: float  # relative frequency in the mix
    stages: tuple[StageSpec, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class PlannedStage:
    agent: str  # rex | blaze | cleo | tess
    agent_class: str
    duration_s: float  # real-cluster seconds: what the payload carries (the platform compresses)
    wall_s: float  # the same divided by the run's time factor: how long it lasts in a compressed run


@dataclass(frozen=True, slots=True, kw_only=True)
class WorkflowPlan:
    size: str
    stages: tuple[PlannedStage, ...]

    def payload(self) -> dict[str, Any]:
        """The JSON body of POST /workflows (the simulated platform's submission API).

        Durations are real-cluster seconds: the platform applies its own time factor (the
        sandbox's), so compressing them here as well would shrink every stage twice."""
        return {
            "size": self.size,
            "stages": [{"agent": s.agent, "duration_s": round(s.duration_s, 3)} for s in self.stages],
        }


def _stages(impl: tuple[float, float], quality: tuple[float, float],
            testing: tuple[float, float]) -> tuple[StageSpec, ...]:
    return (
        StageSpec(agent_class="implementation", duration_s=impl),
        StageSpec(agent_class="quality", duration_s=quality),
        StageSpec(agent_class="testing", duration_s=testing),
    )


# Real-cluster durations: minutes for a one-file fix, hours for a multi-service refactor.
WORKFLOW_MIX: tuple[WorkflowSize, ...] = (
    WorkflowSize(name="single-file-change", weight=0.45,
                 stages=_stages((300, 900), (120, 300), (300, 600))),
    WorkflowSize(name="multi-file-feature", weight=0.30,
                 stages=_stages((1200, 2700), (300, 600), (900, 1800))),
    WorkflowSize(name="service-refactor", weight=0.18,
                 stages=_stages((3600, 7200), (600, 1200), (1800, 3600))),
    WorkflowSize(name="multi-service-refactor", weight=0.07,
                 stages=_stages((10800, 21600), (1200, 2400), (3600, 7200))),
)

# A developer (one Locust user) reviews a result and writes the next request between submissions:
# real-cluster think time, seconds, divided by the time factor in compressed runs.
THINK_TIME_S: tuple[float, float] = (120.0, 600.0)


def size_names() -> tuple[str, ...]:
    return tuple(s.name for s in WORKFLOW_MIX)


def choose_size(rng: random.Random) -> WorkflowSize:
    return rng.choices(WORKFLOW_MIX, weights=[s.weight for s in WORKFLOW_MIX], k=1)[0]


def plan_workflow(size: WorkflowSize, rng: random.Random, time_factor: float = 1.0) -> WorkflowPlan:
    """The agent stages of one workflow: Rex or Blaze (even odds), then Cleo, then Tess."""
    if time_factor <= 0:
        raise ValueError(f"time_factor must be > 0, got {time_factor}")
    planned = []
    for spec in size.stages:
        if spec.agent_class == "implementation":
            agent = rng.choice(IMPLEMENTATION_AGENTS)
        elif spec.agent_class == "quality":
            agent = "cleo"
        else:
            agent = "tess"
        low, high = spec.duration_s
        real = rng.uniform(low, high)
        planned.append(PlannedStage(agent=agent, agent_class=spec.agent_class,
                                    duration_s=real, wall_s=real / time_factor))
    return WorkflowPlan(size=size.name, stages=tuple(planned))


def think_time(rng: random.Random, time_factor: float = 1.0) -> float:
    """Seconds a user waits before its next submission (uniform over THINK_TIME_S, compressed)."""
    low, high = THINK_TIME_S
    return rng.uniform(low, high) / time_factor


def render_template(template: Any, values: dict[str, Any]) -> Any:
    """A payload (or Kubernetes object) template with its placeholders filled in.

    A string that is exactly `{{key}}` becomes the value itself (so `"{{stages}}"` becomes a list);
    `{{key}}` inside a longer string is replaced by the value's text, as is `{{key|string}}` on its own
    (for fields that must be strings, such as a ConfigMap's data). Unknown keys are an error, so a
    typo in a template fails the first request instead of sending a literal `{{sise}}`.
    """
    if isinstance(template, dict):
        return {k: render_template(v, values) for k, v in template.items()}
    if isinstance(template, list):
        return [render_template(v, values) for v in template]
    if not isinstance(template, str) or "{{" not in template:
        return template
    stripped = template.strip()
    if (stripped.startswith("{{") and stripped.endswith("}}") and stripped.count("{{") == 1
            and not stripped[2:-2].strip().endswith("|string")):
        return values[_placeholder_key(stripped[2:-2], values)]
    out = template
    while "{{" in out:
        start = out.index("{{")
        end = out.index("}}", start)
        key = _placeholder_key(out[start + 2:end], values)
        out = out[:start] + str(values[key]) + out[end + 2:]
    return out


def _placeholder_key(raw: str, values: dict[str, Any]) -> str:
    key = raw.strip().removesuffix("|string").strip()
    if key not in values:
        raise KeyError(f"unknown placeholder {{{{{key}}}}} in the template; known: {sorted(values)}")
    return key


def template_values(plan: WorkflowPlan, workflow_name: str, now_ms: int) -> dict[str, Any]:
    payload = plan.payload()
    return {"size": plan.size, "stages": payload["stages"], "workflow_name": workflow_name,
            "submitted_at_ms": now_ms, "payload": payload}
