"""`validator completion SHELL`: the shell code that completes validator's commands and options
(argcomplete). Add `eval "$(validator completion bash)"` to ~/.bashrc (zsh and fish alike)."""

from __future__ import annotations

import argparse

from argcomplete.shell_integration import shellcode

from validator.commands import Subcommands

SHELLS = ("bash", "zsh", "fish", "tcsh", "powershell")


def register(sub: Subcommands) -> None:
    parser = sub.add_parser(
        "completion",
        help="print the shell code that completes validator's commands and options",
        description='Print the completion code for SHELL. Bash: eval "$(validator completion bash)" '
        "in ~/.bashrc; zsh the same in ~/.zshrc; fish: validator completion fish | source.",
    )
    parser.add_argument("shell", choices=SHELLS, help="the shell to complete in")
    parser.set_defaults(handler=run_completion)


def run_completion(args: argparse.Namespace) -> int:
    print(shellcode(["validator"], shell=args.shell))
    return 0
