"""CLI subcommands, one module per area; each exposes `register(subparsers)`."""

import argparse
from typing import TypeAlias

Subcommands: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"

__all__ = ["Subcommands"]
