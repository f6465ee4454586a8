"""Processes the sandbox runs itself (kube-state-metrics, Prometheus, prometheus-adapter, the
simulated platform): start detached, recognise (guarding against pid reuse), stop, wait."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from validator.errors import SandboxError


@dataclass(frozen=True, slots=True, kw_only=True)
class ProcessRecord:
    pid: int
    binary: str
    log: str


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def pid_alive(record: ProcessRecord) -> bool:
    """Alive and still the binary we started (guards against pid reuse)."""
    try:
        cmdline = Path(f"/proc/{record.pid}/cmdline").read_bytes()
    except OSError:
        return False
    return cmdline.split(b"\0", 1)[0].decode(errors="replace") == record.binary


def start_process(binary: Path, args: list[str], log: Path) -> ProcessRecord:
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as out:
        proc = subprocess.Popen(
            [str(binary), *args],
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # survives our exit; `down` stops it
        )
    return ProcessRecord(pid=proc.pid, binary=str(binary), log=str(log))


def stop_process(record: ProcessRecord, timeout_s: float = 10.0) -> None:
    if not pid_alive(record):
        return
    with contextlib.suppress(ProcessLookupError):
        os.kill(record.pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if not pid_alive(record):
            return
        with contextlib.suppress(ChildProcessError):
            os.waitpid(record.pid, os.WNOHANG)
        time.sleep(0.1)
    with contextlib.suppress(ProcessLookupError):
        os.kill(record.pid, signal.SIGKILL)


def wait_for(what: str, check: Callable[[], bool], timeout_s: float, fix: str) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with contextlib.suppress(Exception):
            if check():
                return
        time.sleep(0.5)
    raise SandboxError(
        f"timed out after {timeout_s:.0f}s waiting for {what}", where="validator sandbox up", fix=fix
    )


def http_ok(url: str, timeout: float = 2.0) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            return 200 <= int(resp.status) < 300
    except (urllib.error.URLError, OSError):
        return False


def processes_under(state: Path) -> Iterator[ProcessRecord]:
    """Any process still running a command that names the state directory or a path inside it (a
    safety net for `down`). Names are matched as paths: `<root>/validator-sandbox` does not name
    `<root>/validator-sandbox-gw1`, another sandbox's directory."""
    directory = str(state).rstrip("/").encode()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if directory + b"/" in cmdline or any(arg.endswith(directory) for arg in cmdline.split(b"\0")):
            binary = cmdline.split(b"\0", 1)[0].decode(errors="replace")
            yield ProcessRecord(pid=int(entry.name), binary=binary, log="")
