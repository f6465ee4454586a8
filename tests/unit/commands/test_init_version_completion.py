"""`validator init`, `--version` and shell completion, as a user meets them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from validator.cli import main
from validator.config.suite_file import load_suite_file
from validator.resources import KINDS, platform_revision
from validator.sandbox.toolchain import KUBERNETES_VERSION

VALIDATOR = Path(sys.executable).parent / "validator"


def test_init_copies_everything_and_the_copy_runs_its_own_experiments(tmp_path: Path) -> None:
    target = tmp_path / "mine"
    assert main(["init", str(target)]) == 0
    assert all((target / kind).is_dir() for kind in KINDS)
    suite = load_suite_file(target / "suites" / "nightly.yaml")
    assert suite.experiments and all((target / "experiments") in e.path.parents for e in suite.experiments)


def test_init_never_overwrites(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "suites").mkdir()
    (tmp_path / "suites" / "nightly.yaml").write_text("# my edits\n")
    assert main(["init", str(tmp_path)]) == 2
    assert "already has suites/" in capsys.readouterr().err
    assert (tmp_path / "suites" / "nightly.yaml").read_text() == "# my edits\n"
    assert not (tmp_path / "experiments").exists()


def test_version_names_the_tool_the_platform_and_the_sandbox(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("validator 0.") and platform_revision() in out
    assert f"kubernetes {KUBERNETES_VERSION}" in out and "kwok" in out


def _complete(line: str, tmp_path: Path) -> list[str]:
    out = tmp_path / "completions"
    env = {**os.environ, "_ARGCOMPLETE": "1", "COMP_LINE": line, "COMP_POINT": str(len(line)),
           "_ARGCOMPLETE_STDOUT_FILENAME": str(out)}
    subprocess.run([str(VALIDATOR)], env=env, check=False, timeout=60, cwd=tmp_path)
    return out.read_text().split()


def test_the_shell_completes_commands_and_options(tmp_path: Path) -> None:
    assert "run" in _complete("validator ru", tmp_path)
    assert "--timing" in _complete("validator run --ti", tmp_path)
    assert set(_complete("validator completion ", tmp_path)) >= {"bash", "zsh", "fish"}


@pytest.mark.parametrize("shell", ["bash", "zsh"])
def test_the_completion_code_is_valid_for_its_shell(shell: str, capsys: pytest.CaptureFixture[str],
                                                    tmp_path: Path) -> None:
    assert main(["completion", shell]) == 0
    code = capsys.readouterr().out
    assert "validator" in code
    if shell == "bash":
        script = tmp_path / "complete.bash"
        script.write_text(code)
        assert subprocess.run(["bash", "-n", str(script)], check=False).returncode == 0
