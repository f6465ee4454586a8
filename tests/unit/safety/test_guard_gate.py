"""open_guard refuses before any API call: a listening socket stands in for the apiserver and must
see no connection at all."""

from __future__ import annotations

import base64
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from validator.errors import ConfigError, ExitCode, UnsafeOperation
from validator.safety.allowlist import ContextEntry, read_identity, save_entry
from validator.safety.guard import open_guard

CA = b"-----BEGIN CERTIFICATE-----\nnot-a-real-ca\n-----END CERTIFICATE-----\n"


class CountingServer:
    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.connections = 0
        self._stop = False
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.sock.getsockname()[1]}"

    def _run(self) -> None:
        while not self._stop:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.connections += 1
            conn.close()

    def close(self) -> None:
        self._stop = True
        self.thread.join(timeout=2)
        self.sock.close()


@pytest.fixture
def server() -> Iterator[CountingServer]:
    s = CountingServer()
    yield s
    s.close()


def kubeconfig(tmp_path: Path, server: str, contexts: tuple[str, ...] = ("lab", "prod")) -> Path:
    path = tmp_path / "kubeconfig"
    path.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [
                    {
                        "name": "c",
                        "cluster": {
                            "server": server,
                            "certificate-authority-data": base64.b64encode(CA).decode(),
                        },
                    }
                ],
                "users": [{"name": "u", "user": {"token": "s3cret-token"}}],
                "contexts": [{"name": n, "context": {"cluster": "c", "user": "u"}} for n in contexts],
                "current-context": "prod",
            }
        )
    )
    return path


def allow(tmp_path: Path, kc: Path, name: str = "lab", **overrides: str) -> Path:
    identity, _ = read_identity(name, str(kc))
    path = tmp_path / "allow.yaml"
    save_entry(
        ContextEntry(
            name=name,
            server=overrides.get("server", identity.server),
            ca_sha256=overrides.get("ca", identity.ca_sha256),
            namespaces=("agents",),
        ),
        path,
    )
    return path


@pytest.mark.parametrize(
    ("context", "setup", "message"),
    [
        (None, "normal", "no kubeconfig context named"),
        ("", "normal", "no kubeconfig context named"),
        ("prod", "normal", "not in the allow-list"),
        ("lab", "other-server", "but the allow-list recorded"),
        ("lab", "other-ca", "CA fingerprint differs"),
        ("ghost", "ghost-listed", "was not found"),
    ],
)
def test_refusals_make_no_api_call(
    tmp_path: Path, server: CountingServer, context: str | None, setup: str, message: str
) -> None:
    kc = kubeconfig(tmp_path, server.url)
    if setup == "other-server":
        al = allow(tmp_path, kc, server="https://10.0.0.1:6443")
    elif setup == "other-ca":
        al = allow(tmp_path, kc, ca="0" * 64)
    elif setup == "ghost-listed":
        al = tmp_path / "allow.yaml"
        save_entry(ContextEntry(name="ghost", server=server.url, ca_sha256="x"), al)
    else:
        al = allow(tmp_path, kc)
    with pytest.raises(UnsafeOperation) as err:
        open_guard(context, str(kc), al)
    assert message in str(err.value)
    assert err.value.exit_code == ExitCode.REFUSED
    assert "s3cret-token" not in str(err.value)
    assert server.connections == 0


def test_missing_allowlist_allows_nothing(tmp_path: Path, server: CountingServer) -> None:
    kc = kubeconfig(tmp_path, server.url)
    with pytest.raises(UnsafeOperation, match="not in the allow-list"):
        open_guard("lab", str(kc), tmp_path / "absent.yaml")
    assert server.connections == 0


def test_invalid_allowlist_lists_every_error(tmp_path: Path) -> None:
    path = tmp_path / "allow.yaml"
    path.write_text("contexts:\n  a: {server: x}\n  b: {server: y, ca_sha256: z, colour: red}\n")
    with pytest.raises(ConfigError) as err:
        open_guard("a", None, path)
    assert "contexts.a" in str(err.value) and "colour" in str(err.value)


def test_cli_unlisted_context_exits_4(
    tmp_path: Path, server: CountingServer, capsys: pytest.CaptureFixture[str]
) -> None:
    from validator.cli import main

    kc = kubeconfig(tmp_path, server.url)
    al = allow(tmp_path, kc)
    code = main(["recover", "--context", "prod", "--kubeconfig", str(kc), "--allowlist", str(al)])
    assert code == 4
    assert "not in the allow-list" in capsys.readouterr().err
    assert server.connections == 0
