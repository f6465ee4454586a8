"""CLI subcommands, one module per area; each exposes `register(subparsers)`."""

import argparse
from typing import TypeAlias

Subcommands: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"


def add_regressions_option(parser: argparse.ArgumentParser, *, default_text: str) -> None:
    """`--regressions warn|fail`: what a regression against the history does (docs/history.md)."""
    parser.add_argument(
        "--regressions",
        choices=("warn", "fail"),
        default=None,
        help="what a regression against the history does: warn, or fail the run (exit 1) "
        f"(default: {default_text})",
    )


__all__ = ["Subcommands", "add_regressions_option"]
