"""Where each fault mechanism works. A fault that does nothing tests nothing, so a mechanism that
only the sandbox's simulated nodes react to is refused anywhere else, before any cluster call.

- `apply_memory_pressure`, mechanism `chaos-mesh` (a cluster with Chaos Mesh installed): a
  StressChaos memory stressor in the target pods;
- `apply_memory_pressure`, mechanism `sandbox` (the sandbox only): raises the kwok pods' simulated
  memory annotation;
- `fail_nodes`, mechanism `hook` (any cluster): runs your command per node, e.g. a cloud CLI that
  stops the instance;
- `fail_nodes`, mechanism `sandbox` (the sandbox only): labels kwok nodes NotReady;
- `remove_memory_pressure`, `restore_nodes`: the rollbacks of the above, with their fault's mechanism.

The experiments' own defaults are the real mechanisms (`chaos-mesh`, `hook`): a `chaos run` against
a real cluster never silently does nothing. The suites' sandbox timings choose `sandbox`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from validator.config.experiment_file import Experiment
from validator.errors import UnsafeOperation

SANDBOX_ONLY = "sandbox"  # the one mechanism that works only on the sandbox's simulated nodes


@dataclass(frozen=True, slots=True, kw_only=True)
class MechanismUse:
    activity: str
    func: str
    mechanism: str

    @property
    def sandbox_only(self) -> bool:
        return self.mechanism == SANDBOX_ONLY


# action function -> its mechanism argument, and the mechanisms it knows
MECHANISMS: dict[str, tuple[str, tuple[str, ...]]] = {
    "apply_memory_pressure": ("mechanism", ("chaos-mesh", "sandbox")),
    "remove_memory_pressure": ("mechanism", ("chaos-mesh", "sandbox")),
    "fail_nodes": ("mechanism", ("hook", "sandbox")),
    "restore_nodes": ("mechanism", ("hook", "sandbox")),
}
DEFAULTS = {
    "apply_memory_pressure": "chaos-mesh",
    "remove_memory_pressure": "chaos-mesh",
    "fail_nodes": "hook",
    "restore_nodes": "hook",
}


def mechanisms_of(experiment: Experiment, env: Mapping[str, str]) -> list[MechanismUse]:
    """Every action of the experiment that has a mechanism, with the one it will use under `env`."""
    out: list[MechanismUse] = []
    for activity in experiment.activities:
        known = MECHANISMS.get(activity.func)
        if activity.type != "action" or known is None:
            continue
        argument, _ = known
        resolved = experiment.resolve_arguments(activity, env).get(argument, DEFAULTS[activity.func])
        out.append(MechanismUse(activity=activity.name, func=activity.func, mechanism=str(resolved)))
    return out


def refuse_off_sandbox(experiments: Iterable[tuple[Experiment, Mapping[str, str]]], context: str) -> None:
    """UnsafeOperation (exit 4) when any of the experiments, each with the environment it runs with,
    would use a sandbox-only mechanism on `context`, which is not the sandbox."""
    refusals = [line for experiment, env in experiments for line in refusals_outside_sandbox(experiment, env)]
    if refusals:
        raise UnsafeOperation(
            "fault mechanisms that only the sandbox reacts to, on a cluster that is not the sandbox:\n    "
            + "\n    ".join(refusals),
            where=f"context {context}",
            fix="use the real mechanisms: VALIDATOR_MEMORY_MECHANISM=chaos-mesh (Chaos Mesh installed), "
            "VALIDATOR_NODE_FAILURE_MECHANISM=hook with VALIDATOR_NODE_FAILURE_HOOK (docs/chaos-safety.md)",
        )


def refusals_outside_sandbox(experiment: Experiment, env: Mapping[str, str]) -> list[str]:
    """Why the experiment cannot run on a cluster that is not the sandbox ([] when it can)."""
    return [
        f"{experiment.path}: {use.activity} ({use.func}) uses mechanism `sandbox`, which only the "
        "sandbox's simulated nodes react to: on this cluster the fault would do nothing"
        for use in mechanisms_of(experiment, env)
        if use.sandbox_only
    ]
