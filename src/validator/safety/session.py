"""Where a run's writes go: the context, run directory and run id of the current process, and the
one Mutator built from them.

Chaos Toolkit activities receive the experiment's `configuration`; the keys (or environment
variables) are:

| configuration key       | environment          | default                          |
|-------------------------|----------------------|----------------------------------|
| `validator_context`     | `VALIDATOR_CONTEXT`  | none: a context must be named    |
| `validator_kubeconfig`  | `VALIDATOR_KUBECONFIG`, `KUBECONFIG` | `~/.kube/config` |
| `validator_run_dir`     | `VALIDATOR_RUN_DIR`  | `./reports/adhoc`                |
| `validator_run_id`      | `VALIDATOR_RUN_ID`   | the run directory's name (adhoc: per process) |
| `validator_allowlist`   | `VALIDATOR_ALLOWLIST`| `~/.config/validator/allowlist.yaml` |

The environment wins over the configuration, so a runner can point a plain experiment file at
its run directory. `planning(mutator)` makes every activity use a plan-mode mutator instead.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from validator.safety.audit import AuditLog
from validator.safety.guard import open_guard
from validator.safety.mutator import Mutator
from validator.safety.rbac import preflight, run_needs

DEFAULT_RUN_DIR = "./reports/adhoc"
_KEYS = {
    "context": ("VALIDATOR_CONTEXT", "validator_context"),
    "kubeconfig": ("VALIDATOR_KUBECONFIG", "validator_kubeconfig"),
    "run_dir": ("VALIDATOR_RUN_DIR", "validator_run_dir"),
    "run_id": ("VALIDATOR_RUN_ID", "validator_run_id"),
    "allowlist": ("VALIDATOR_ALLOWLIST", "validator_allowlist"),
}


@dataclass(frozen=True, slots=True, kw_only=True)
class RunSettings:
    context: str
    kubeconfig: str | None
    run_dir: Path
    run_id: str
    allowlist: Path | None


def _pick(configuration: Mapping[str, Any] | None, key: str) -> str:
    env, conf = _KEYS[key]
    value = os.environ.get(env)
    if value:
        return value
    raw = (configuration or {}).get(conf)
    return str(raw) if raw not in (None, "") else ""


_adhoc_id: list[str] = []


def _default_run_id(run_dir: Path) -> str:
    """The run directory's name; for the shared ad-hoc directory, one id per process, so two ad-hoc
    runs never share (and never revert each other's) marks."""
    name = run_dir.resolve().name
    if name != Path(DEFAULT_RUN_DIR).name:
        return name
    if not _adhoc_id:
        _adhoc_id.append(f"adhoc-{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}-{os.getpid()}")
    return _adhoc_id[0]


def settings_from(configuration: Mapping[str, Any] | None) -> RunSettings:
    run_dir = Path(_pick(configuration, "run_dir") or DEFAULT_RUN_DIR)
    kubeconfig = _pick(configuration, "kubeconfig") or None
    allowlist = _pick(configuration, "allowlist")
    return RunSettings(
        context=_pick(configuration, "context"),
        kubeconfig=kubeconfig,
        run_dir=run_dir,
        run_id=_pick(configuration, "run_id") or _default_run_id(run_dir),
        allowlist=Path(allowlist) if allowlist else None,
    )


_cache: dict[RunSettings, Mutator] = {}
_override: list[Mutator] = []


def mutator_for(configuration: Mapping[str, Any] | None) -> Mutator:
    """The mutator of this process for these settings (guard opened once, then reused)."""
    if _override:
        return _override[-1]
    settings = settings_from(configuration)
    cached = _cache.get(settings)
    if cached is None:
        guard = open_guard(settings.context, settings.kubeconfig, settings.allowlist)
        preflight(guard.api, run_needs(exact_namespaces(guard.entry.namespaces)), context=guard.context)
        cached = Mutator(guard=guard, audit=AuditLog(settings.run_dir, settings.run_id))
        _cache[settings] = cached
    return cached


def exact_namespaces(patterns: tuple[str, ...]) -> list[str]:
    """The allow-list's namespaces that are names, not patterns (access reviews need names)."""
    return [p for p in patterns if not any(c in p for c in "*?[")]


@contextmanager
def planning(mutator: Mutator) -> Iterator[Mutator]:
    """Within the block, every activity uses `mutator` (a plan-mode one: nothing is written)."""
    _override.append(mutator)
    try:
        yield mutator
    finally:
        _override.pop()


def reset() -> None:
    """Forget cached guards (tests, or a new allow-list)."""
    for mutator in _cache.values():
        mutator.guard.api.close()
    _cache.clear()
