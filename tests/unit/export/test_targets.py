"""Where results go (export/targets.py) and what a user sees when it fails: a push or an indexing that
fails is one yellow warning naming the URL and the error, never a credential, and the verdict
stands. A refused connection is the real thing (a loopback port nobody listens on); the basic auth
is checked by a real Pushgateway configured to ask for it."""

from __future__ import annotations

import base64
import io
import json
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from rich.console import Console

from tests.support import servers, synthetic_run
from tests.support.run_directory import write_run_directory
from validator.cli import main
from validator.export import ExportTargets, export_results, resolve_targets
from validator.export.targets import (
    OPENSEARCH_ENV,
    OPENSEARCH_INDEX_ENV,
    PUSHGATEWAY_ENV,
    PUSHGATEWAY_PASSWORD_ENV,
    PUSHGATEWAY_USER_ENV,
)
from validator.run import RunRequest

USER = "validator"
PASSWORD = "push-s3cret"
# bcrypt of PASSWORD (cost 4), the form a Pushgateway's web config holds
PASSWORD_HASH = "$2b$04$SpU1FpNC5B9d0AneQfk7gu6pD7iCsToYROtu9PHYzWwnVyCqApq.m"


@pytest.fixture(scope="module")
def guarded_pushgateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    yield from servers.pushgateway(
        tmp_path_factory.mktemp("guarded"), user=USER, bcrypt_hash=PASSWORD_HASH, password=PASSWORD
    )


def _export(targets: ExportTargets) -> tuple[bool, str]:
    summary, evidence = synthetic_run.summary_and_evidence()
    out = io.StringIO()
    ok = export_results(targets, summary, evidence, Console(file=out, width=400, force_terminal=False))
    return ok, out.getvalue()


def test_the_command_line_wins_over_the_environment_and_passwords_come_from_it_only() -> None:
    env = {
        PUSHGATEWAY_ENV: "http://env-gateway:9091",
        PUSHGATEWAY_USER_ENV: "u",
        PUSHGATEWAY_PASSWORD_ENV: "p",
        OPENSEARCH_ENV: "http://env-search:9200",
        OPENSEARCH_INDEX_ENV: "nightly-results",
    }
    from_env = resolve_targets(environ=env)
    assert (from_env.pushgateway, from_env.opensearch, from_env.opensearch_index) == (
        "http://env-gateway:9091", "http://env-search:9200", "nightly-results"
    )
    assert (from_env.pushgateway_user, from_env.pushgateway_password) == ("u", "p")
    given = resolve_targets("http://cli-gateway:9091", None, "mine", environ=env)
    assert (given.pushgateway, given.opensearch, given.opensearch_index) == (
        "http://cli-gateway:9091", "http://env-search:9200", "mine"
    )
    assert resolve_targets(environ={}) == ExportTargets()
    assert resolve_targets(environ={}).opensearch_index == "validator-results"
    shown = repr(ExportTargets(pushgateway="http://u:hunter2@h:1", pushgateway_password="env-secret-7"))
    assert "hunter2" not in shown and "env-secret-7" not in shown


def test_nothing_configured_sends_nothing_and_says_nothing() -> None:
    assert _export(ExportTargets()) == (True, "")


def test_a_refused_connection_is_a_warning_naming_the_url_never_the_password() -> None:
    gateway = f"http://{USER}:url-pw-1@127.0.0.1:{servers.closed_port()}"
    search = f"http://{USER}:url-pw-2@127.0.0.1:{servers.closed_port()}"
    ok, said = _export(ExportTargets(pushgateway=gateway, pushgateway_password="env-pw", opensearch=search))
    assert not ok
    starts = [line.split(":", 2)[:2] for line in said.splitlines()]
    assert ["not pushed to the Pushgateway http", "//[redacted]@127.0.0.1"] in starts
    assert ["not indexed into OpenSearch http", "//[redacted]@127.0.0.1"] in starts
    assert "refused" in said.lower()
    for secret in ("url-pw-1", "url-pw-2", "env-pw"):
        assert secret not in said


def test_evaluate_keeps_its_verdict_and_its_history_when_both_exports_fail(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run_dir = write_run_directory(tmp_path / "run")
    history = tmp_path / "history.sqlite"
    code = main([
        "evaluate", str(run_dir), "--history", str(history),
        "--pushgateway", f"http://127.0.0.1:{servers.closed_port()}",
        "--opensearch", f"http://127.0.0.1:{servers.closed_port()}",
    ])
    assert code == 0  # the healthy run's pass
    out = capsys.readouterr().out
    assert "not pushed to the Pushgateway http://127.0.0.1:" in out
    assert "not indexed into OpenSearch http://127.0.0.1:" in out
    assert history.is_file()


def test_a_pushgateway_asking_for_basic_auth_gets_it_from_the_environment(
    guarded_pushgateway: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    ok, said = _export(ExportTargets(pushgateway=guarded_pushgateway))
    assert not ok
    assert "401" in said  # refused without credentials, and said so

    monkeypatch.setenv(PUSHGATEWAY_USER_ENV, USER)
    monkeypatch.setenv(PUSHGATEWAY_PASSWORD_ENV, PASSWORD)
    ok, said = _export(resolve_targets(guarded_pushgateway))
    assert ok, said
    assert PASSWORD not in said
    request = urllib.request.Request(
        f"{guarded_pushgateway}/api/v1/metrics",
        headers={"Authorization": "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()},
    )
    with urllib.request.urlopen(request, timeout=10) as answer:
        groups = json.loads(answer.read())["data"]
    assert [g["labels"]["suite"] for g in groups] == ["nightly"]


def test_run_hands_its_export_targets_to_the_run(monkeypatch: pytest.MonkeyPatch) -> None:
    """`validator run` passes --pushgateway / --opensearch (and the environment's password) on to the
    run, which exports right after recording its history (run/suite_run.py)."""
    seen: list[ExportTargets] = []

    def capture(request: RunRequest) -> int:
        seen.append(request.export)
        return 0

    monkeypatch.setattr("validator.commands.run.run_suite", capture)
    monkeypatch.setenv(PUSHGATEWAY_PASSWORD_ENV, "from-env")
    monkeypatch.setenv(PUSHGATEWAY_USER_ENV, "nightly")
    args = ["run", "nightly", "--context", "kwok-x", "--pushgateway", "http://gw:9091",
            "--opensearch", "http://os:9200", "--opensearch-index", "perf"]
    assert main(args) == 0
    [targets] = seen
    assert (targets.pushgateway, targets.pushgateway_user, targets.pushgateway_password) == (
        "http://gw:9091", "nightly", "from-env"
    )
    assert (targets.opensearch, targets.opensearch_index) == ("http://os:9200", "perf")
