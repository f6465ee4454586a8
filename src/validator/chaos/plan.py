"""Planning an experiment: every step with the cluster writes it would make, made through a
plan-mode mutator (nothing is written). `validator plan` and `validator run --dry-run` print it."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

from validator.chaos.runner import environment
from validator.config.experiment_file import load_experiment_file
from validator.errors import UnsafeOperation, ValidatorError
from validator.safety.mutator import Mutator, error_text


def plan_experiment(path: Path, mutator: Mutator, env: dict[str, str] | None = None) -> dict[str, Any]:
    """Every step of one experiment with the writes it would make (plan-mode mutator: nothing written),
    its configuration read with `env` over the process's environment."""
    from chaoslib.configuration import load_configuration  # Chaos Toolkit loads only when used
    from kubernetes.client.exceptions import ApiException

    experiment = dict(load_experiment_file(path).document)
    with environment(env or {}):
        configuration = load_configuration(experiment.get("configuration", {}))
    steps = []
    for phase in ("method", "rollbacks"):
        for activity in experiment.get(phase) or []:
            if "ref" in activity:
                continue
            provider = activity.get("provider") or {}
            step: dict[str, Any] = {"phase": phase, "name": activity.get("name"),
                                    "type": activity.get("type"),
                                    "function": f"{provider.get('module')}.{provider.get('func')}"}
            if activity.get("type") != "action":
                step["writes"] = []
                step["note"] = "read-only probe"
                steps.append(step)
                continue
            module = str(provider.get("module") or "")
            if not module.startswith("validator.chaos."):
                step["writes"] = []
                step["note"] = "not a validator action: its effect cannot be planned (it is not guarded)"
                steps.append(step)
                continue
            before = len(mutator.planned)
            func = getattr(importlib.import_module(module), str(provider.get("func")))
            args = _substitute(provider.get("arguments") or {}, configuration)
            try:
                func(**args, configuration=configuration)
                step["result"] = "ok"
            except UnsafeOperation as exc:
                step["result"] = "refused"
                step["reason"] = exc.what
            except ValidatorError as exc:
                step["result"] = "error"
                step["reason"] = exc.what
            except ApiException as exc:
                step["result"] = "error"
                step["reason"] = f"the apiserver answered {error_text(exc)}"
            step["writes"] = [{"verb": p.verb, "object": p.object, "change": p.change, "note": p.note}
                              for p in mutator.planned[before:]]
            steps.append(step)
    return {"experiment": str(path), "title": experiment.get("title"), "steps": steps}


def _substitute(args: dict[str, Any], configuration: dict[str, Any]) -> dict[str, Any]:
    from chaoslib import substitute

    result: dict[str, Any] = substitute(args, configuration, {})
    return result
