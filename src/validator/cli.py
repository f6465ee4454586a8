"""The one entry point: `validator <command>`.

Each area registers its subcommands from its own module in `validator.commands` (so the
parser is assembled here, and the work lives beside its area). Every handler returns an
exit code; every `ValidatorError` is mapped to its code here, and nowhere else is
`sys.exit` called. Exit codes are those of docs/criteria.md.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from validator.errors import ExitCode, ValidatorError

# Each module defines `register(subparsers) -> None`; its parsers set `handler=<callable(args)->int>`.
COMMAND_MODULES = (
    "validator.commands.sandbox",
    "validator.commands.lint",
    "validator.commands.evaluation",
    "validator.commands.check",
    "validator.commands.chaos",
    "validator.commands.run",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="validator",
        description="Chaos and load validation for a Kubernetes platform of AI agents.",
        epilog="Exit codes: 0 pass, 1 a criterion failed, 2 invalid input, 3 inconclusive or an "
        "evidence source unreachable, 4 refused for safety, 5 a rollback failed, 130 interrupted.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
            continue  # an area not built yet contributes no command
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handler = getattr(args, "handler", None)
    if handler is None:
        parser.print_help(sys.stderr)
        return int(ExitCode.INVALID_INPUT)
    try:
        return int(handler(args))
    except ValidatorError as exc:
        print(f"validator: {exc.render()}", file=sys.stderr)
        return int(exc.exit_code)
    except KeyboardInterrupt:
        print("validator: interrupted", file=sys.stderr)
        return int(ExitCode.INTERRUPTED)


def main_entry() -> None:
    """Console-script wrapper."""
    raise SystemExit(main())
