"""`validator init DIR`: a copy of the bundled suites, experiments, load profiles, reference platform
and schemas, to edit and run as your own (`validator run DIR/suites/nightly.yaml`)."""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

from validator.commands import Subcommands
from validator.errors import ConfigError
from validator.resources import KINDS, bundled


def register(sub: Subcommands) -> None:
    parser = sub.add_parser(
        "init",
        help="copy the bundled suites, experiments, load profiles and platform into DIR, to edit",
        description="Copy the bundled suites/, experiments/, loadprofiles/, platform/ and schemas/ into "
        "DIR (created if needed). A suite there names its experiments relative to DIR, so "
        "`validator run DIR/suites/nightly.yaml` runs your copy. Existing files are never overwritten.",
    )
    parser.add_argument("directory", metavar="DIR", type=Path, help="where to put the copies")
    parser.set_defaults(handler=run_init)


def run_init(args: argparse.Namespace) -> int:
    target: Path = args.directory
    taken = [kind for kind in KINDS if (target / kind).exists()]
    if taken:
        raise ConfigError(
            f"{target} already has {', '.join(f'{kind}/' for kind in taken)}",
            where=str(target),
            fix="choose an empty directory (init never overwrites your edits)",
        )
    target.mkdir(parents=True, exist_ok=True)
    for kind in KINDS:
        shutil.copytree(bundled(kind), target / kind, ignore=shutil.ignore_patterns("__pycache__"))
    print(f"copied {', '.join(f'{k}/' for k in KINDS)} into {target}")
    print(f"run your copy with: validator run {target / 'suites' / 'nightly.yaml'} --context CONTEXT")
    return 0
