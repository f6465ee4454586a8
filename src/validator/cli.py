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
from importlib import metadata

import argcomplete

from validator.errors import ExitCode, ValidatorError
from validator.resources import platform_revision
from validator.sandbox import toolchain

# Each module defines `register(subparsers) -> None`; its parsers set `handler=<callable(args)->int>`.
COMMAND_MODULES = (
    "validator.commands.sandbox",
    "validator.commands.lint",
    "validator.commands.evaluation",
    "validator.commands.check",
    "validator.commands.chaos",
    "validator.commands.run",
    "validator.commands.init",
    "validator.commands.completion",
    "validator.commands.history",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="validator",
        description="Chaos and load validation for a Kubernetes platform of AI agents.",
        epilog="Exit codes: 0 pass, 1 a criterion failed, 2 invalid input, 3 inconclusive or an "
        "evidence source unreachable, 4 refused for safety, 5 a rollback failed, 130 interrupted.",
    )
    parser.add_argument(
        "--version", action=_PrintVersion, help="the validator's, the platform's and the sandbox's versions"
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


class _PrintVersion(argparse.Action):
    """--version: the lines of version_text() as they are (argparse's own action would reflow them)."""

    def __init__(self, option_strings: Sequence[str], dest: str, **kwargs: object) -> None:
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS)

    def __call__(self, parser: argparse.ArgumentParser, *_: object) -> None:
        print(version_text())
        parser.exit()


def version_text() -> str:
    """The validator's version, the bundled platform's revision and the sandbox's components."""
    try:
        own = metadata.version("validator")
    except metadata.PackageNotFoundError:  # pragma: no cover - run from a source tree without install
        own = "unknown (not installed)"
    sandbox = ", ".join(f"{name} {version}" for name, version in toolchain.component_versions().items())
    return (
        f"validator {own}\n"
        f"reference platform: revision {platform_revision()} (bundled)\n"
        f"sandbox: {sandbox}; Prometheus from Debian"
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    argcomplete.autocomplete(parser)  # answers the shell's completion request, then exits
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
