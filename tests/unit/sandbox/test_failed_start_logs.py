"""A sandbox start that fails removes its state directory (`down`), yet its error names component
logs inside it: the logs are kept beside the state directories first, and the error is made to name
the kept copies, so a timeout at start (Prometheus not ready, the metrics API not served) can be
diagnosed after the fact, by a person or from a CI log."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from validator.errors import SandboxError
from validator.sandbox import lifecycle


@pytest.fixture
def state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv(lifecycle.STATE_DIR_ENV, str(tmp_path / "state"))
    state = lifecycle.state_dir("sbx")
    (state / "logs").mkdir(parents=True)
    (state / "logs" / "prometheus.log").write_text("level=error msg=\"opening storage failed\"\n")
    (state / "kwok" / "clusters" / "sbx" / "logs").mkdir(parents=True)
    (state / "kwok" / "clusters" / "sbx" / "logs" / "kube-apiserver.log").write_text("apiserver\n")
    (state / "sandbox.json").write_text("{}")
    return state


def test_the_error_names_logs_that_still_exist_after_the_state_directory_is_removed(state: Path) -> None:
    failure = SandboxError(
        "Prometheus did not become ready in 120 s",
        where=str(state / "logs" / "prometheus.log"),
        fix=f"see {state / 'logs' / 'prometheus.log'}",
    )
    kept = lifecycle.keep_start_logs(state, "sbx")
    assert kept == lifecycle.failed_start_dir("sbx")
    shutil.rmtree(state)  # what `down` does
    lifecycle._point_at_kept_logs(failure, state, kept)
    assert failure.where == str(kept / "logs" / "prometheus.log")
    assert Path(failure.where).read_text().startswith("level=error")
    assert f"see {kept / 'logs' / 'prometheus.log'} (the start's logs are kept in {kept})" == failure.fix
    assert f"{state}/" not in str(failure)  # the rendered message, as the CLI prints it
    assert (kept / "kwok" / "clusters" / "sbx" / "logs" / "kube-apiserver.log").read_text() == "apiserver\n"
    assert not (kept / "sandbox.json").exists()  # logs only: never taken for a sandbox
    assert lifecycle.load_info("sbx.failed-start") is None


def test_a_later_failed_start_replaces_the_kept_logs(state: Path) -> None:
    first = lifecycle.keep_start_logs(state, "sbx")
    assert first is not None
    (state / "kwok").rename(state.parent / "elsewhere")  # the second start got no further than Prometheus
    second = lifecycle.keep_start_logs(state, "sbx")
    assert second == first
    assert sorted(p.relative_to(second).as_posix() for p in second.rglob("*.log")) == ["logs/prometheus.log"]


def test_a_start_that_wrote_no_log_keeps_nothing(tmp_path: Path) -> None:
    empty = tmp_path / "state" / "sbx"
    empty.mkdir(parents=True)
    assert lifecycle.keep_start_logs(empty, "sbx") is None
