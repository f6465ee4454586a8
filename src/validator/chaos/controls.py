"""The control of every experiment: fault windows into chaos/faults.jsonl, and rollbacks that always run.

Declare it in an experiment::

    "controls": [{"name": "validator", "provider": {"type": "python", "module": "validator.chaos.controls"}}]

It writes one line per boundary (docs/run-directory.md): `inject_start` / `inject_end` around each
method action, `rollback_start` / `rollback_end` around each rollback action, with `status` on the
`*_end` lines. It forces the `always` rollback strategy, installs the signal policy of
`validator.safety.signals` (SIGINT, SIGTERM, SIGHUP stop the injection, never the rollbacks), and
at the end reverts anything this run still has marked (a safety net behind the rollbacks).
The run directory is `VALIDATOR_RUN_DIR`, else configuration `validator_run_dir`, else
`./reports/adhoc`.
"""

from __future__ import annotations

import contextlib
import logging
import re
from typing import Any

from validator.run_directory.chaos_records import append_fault_line
from validator.safety.recover import recover
from validator.safety.session import mutator_for, settings_from
from validator.safety.signals import RollbackSignals

logger = logging.getLogger("validator.chaos")


class _State:
    def __init__(self) -> None:
        self.signals: RollbackSignals | None = None
        self.experiment = "experiment"
        self.fault = "experiment"
        self.configuration: dict[str, Any] = {}
        self.in_rollback = False


_state = _State()


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "experiment"


def _names(experiment: dict[str, Any]) -> tuple[str, str]:
    for ext in experiment.get("extensions") or []:
        if ext.get("name") == "validator":
            name = str(ext.get("experiment") or _slug(str(experiment.get("title", ""))))
            return name, str(ext.get("fault") or name)
    name = _slug(str(experiment.get("title", "")))
    return name, name


def write_fault_line(configuration: dict[str, Any] | None, record: dict[str, Any]) -> None:
    settings = settings_from(configuration)
    append_fault_line(settings.run_dir, {"run_id": settings.run_id, **record})


def _declared_targets(activity: dict[str, Any], configuration: dict[str, Any] | None = None) -> list[str]:
    """What the action is pointed at, with its `${...}` configuration filled in."""
    from chaoslib import substitute

    args = (activity.get("provider") or {}).get("arguments") or {}
    with contextlib.suppress(Exception):  # unresolvable: show it as written rather than lose the line
        args = substitute(args, configuration or _state.configuration, {})
    out = []
    if args.get("namespace"):
        out.append(f"namespace/{args['namespace']}")
    if args.get("label_selector"):
        out.append(f"selector/{args['label_selector']}")
    return out


def configure_control(experiment: dict[str, Any] | None = None, configuration: dict[str, Any] | None = None,
                      secrets: dict[str, Any] | None = None, settings: dict[str, Any] | None = None,
                      **_: Any) -> None:
    # `chaos run` reads the experiment's runtime block (ours say "always"); a programmatic run must
    # pass settings with it. Where the settings object reaches us, force it here too.
    from chaoslib.settings import get_loaded_settings

    for target in (settings, get_loaded_settings()):
        if isinstance(target, dict):
            target.setdefault("runtime", {}).setdefault("rollbacks", {})["strategy"] = "always"
    _state.experiment, _state.fault = _names(experiment or {})
    _state.configuration = dict(configuration or {})
    _state.in_rollback = False
    _state.signals = RollbackSignals()
    _state.signals.install()


def cleanup_control(**_: Any) -> None:
    if _state.signals is not None:
        _state.signals.restore()
        _state.signals = None


def before_rollback_control(context: Any = None, configuration: dict[str, Any] | None = None,
                            **_: Any) -> None:
    _state.in_rollback = True
    if _state.signals is not None:
        _state.signals.rolling_back()


def _is_ours(activity: dict[str, Any]) -> bool:
    return activity.get("type") == "action"


def _action(activity: dict[str, Any]) -> str:
    """The provider function of an action: what kind of fault it injects (drain_nodes, evict_pods...)."""
    return str((activity.get("provider") or {}).get("func") or "")


def before_activity_control(context: dict[str, Any], configuration: dict[str, Any] | None = None,
                            **_: Any) -> None:
    if not _is_ours(context):
        return
    phase = "rollback_start" if _state.in_rollback else "inject_start"
    targets = _declared_targets(context, configuration)
    write_fault_line(configuration, {"experiment": _state.experiment, "fault": _state.fault,
                                     "activity": context.get("name"), "phase": phase,
                                     "action": _action(context), "targets": targets})


def after_activity_control(context: dict[str, Any], state: Any = None,
                           configuration: dict[str, Any] | None = None, **_: Any) -> None:
    if not _is_ours(context):
        return
    phase = "rollback_end" if _state.in_rollback else "inject_end"
    status = "failed"
    targets = _declared_targets(context, configuration)
    if isinstance(state, dict):
        status = "succeeded" if state.get("status") == "succeeded" else "failed"
        output = state.get("output")
        if isinstance(output, dict) and isinstance(output.get("targets"), list):
            targets = [str(t) for t in output["targets"]]
    record: dict[str, Any] = {"experiment": _state.experiment, "fault": _state.fault,
                              "activity": context.get("name"), "phase": phase, "action": _action(context),
                              "targets": targets, "status": status}
    if isinstance(state, dict) and isinstance(state.get("output"), dict) and state["output"].get("mechanism"):
        record["mechanism"] = str(state["output"]["mechanism"])
    if isinstance(state, dict) and state.get("exception"):
        record["error"] = str(state["exception"][-1]).strip()[:500]
    write_fault_line(configuration, record)


def after_experiment_control(context: Any = None, state: Any = None,
                             configuration: dict[str, Any] | None = None, **_: Any) -> None:
    """Safety net: revert anything this run still has marked (after the rollbacks ran, or were cut)."""
    if _state.signals is not None:
        _state.signals.rolling_back()
    try:
        mutator = mutator_for(configuration)
    except Exception:  # no allowed context: nothing could have been changed
        return
    report = recover(mutator, mutator.run_id, raise_on_failure=False)
    if report.reverted or report.failed:
        write_fault_line(configuration, {"experiment": _state.experiment, "fault": _state.fault,
                                         "activity": "safety-net-recover", "phase": "rollback_end",
                                         "targets": report.reverted,
                                         "status": "failed" if report.failed else "succeeded",
                                         **({"error": "; ".join(report.failed)} if report.failed else {})})
        logger.warning("safety net reverted %s; still failing: %s", report.reverted, report.failed)
