"""The `in-cluster` context: a pod's ServiceAccount (token, CA, KUBERNETES_SERVICE_HOST/PORT) is read
from the standard paths or $VALIDATOR_SERVICE_ACCOUNT_DIR, identified like a kubeconfig context, and
refused with a clear error outside a pod."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from validator.errors import ConfigError
from validator.kube import api_client
from validator.kube.in_cluster import DEFAULT_SERVICE_ACCOUNT_DIR, IN_CLUSTER, service_account_dir
from validator.safety.allowlist import read_identity

CA = b"-----BEGIN CERTIFICATE-----\nMIIBdummy\n-----END CERTIFICATE-----\n"


@pytest.fixture
def pod(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "token").write_text("eyJ.pod-token.sig")
    (tmp_path / "ca.crt").write_bytes(CA)
    monkeypatch.setenv("VALIDATOR_SERVICE_ACCOUNT_DIR", str(tmp_path))
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "10.96.0.1")
    monkeypatch.setenv("KUBERNETES_SERVICE_PORT", "443")
    return tmp_path


def test_the_standard_paths_unless_told_otherwise(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("VALIDATOR_SERVICE_ACCOUNT_DIR", raising=False)
    assert (
        service_account_dir()
        == DEFAULT_SERVICE_ACCOUNT_DIR
        == Path("/var/run/secrets/kubernetes.io/serviceaccount")
    )
    monkeypatch.setenv("VALIDATOR_SERVICE_ACCOUNT_DIR", str(tmp_path))
    assert service_account_dir() == tmp_path


def test_the_client_uses_the_token_the_ca_and_the_service_address(pod: Path) -> None:
    api = api_client("/nonexistent/kubeconfig", IN_CLUSTER)  # no kubeconfig is read
    try:
        configuration = api.configuration
        assert configuration.host == "https://10.96.0.1:443"
        assert configuration.ssl_ca_cert == str(pod / "ca.crt")
        assert configuration.api_key["BearerToken"] == "bearer eyJ.pod-token.sig"
    finally:
        api.close()


def test_its_identity_is_the_server_and_the_ca_fingerprint(
    pod: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    identity, where = read_identity(IN_CLUSTER, None)
    assert identity.server == "https://10.96.0.1:443" and where == pod
    assert identity.ca_sha256 == hashlib.sha256(CA).hexdigest()
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "fd00::1")
    assert read_identity(IN_CLUSTER, None)[0].server == "https://[fd00::1]:443"


def test_outside_a_pod_it_says_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VALIDATOR_SERVICE_ACCOUNT_DIR", str(tmp_path))
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    with pytest.raises(ConfigError) as caught:
        read_identity(IN_CLUSTER, None)
    assert "not running in a cluster" in caught.value.what and "KUBERNETES_SERVICE_HOST" in caught.value.what
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "10.96.0.1")
    monkeypatch.setenv("KUBERNETES_SERVICE_PORT", "443")
    with pytest.raises(ConfigError) as caught:
        api_client("", IN_CLUSTER)
    assert "not running in a cluster" in caught.value.what
