"""Redaction: secrets never survive into anything we write or show."""

from __future__ import annotations

import pytest

from validator.redaction import (
    REDACTED,
    is_secret_key,
    redact_text,
    redact_url,
    redact_value,
    strip_url_credentials,
)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://127.0.0.1:9090", "http://127.0.0.1:9090"),
        ("https://alice:s3cret@prom.example:443/prefix", "https://[redacted]@prom.example:443/prefix"),
        ("https://token-only@prom.example", "https://[redacted]@prom.example"),
        ("https://prom.example/api?access_token=abc123&x=1", "https://prom.example/api?access_token=[redacted]&x=1"),
    ],
)
def test_redact_url(url: str, expected: str) -> None:
    assert redact_url(url) == expected


def test_strip_url_credentials_splits_them_off_and_unquotes() -> None:
    clean, auth = strip_url_credentials("https://al%40ice:p%3Ass@h:1/p?q=1")
    assert (clean, auth) == ("https://h:1/p?q=1", ("al@ice", "p:ss"))
    assert strip_url_credentials("http://h:9090") == ("http://h:9090", None)


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        ("GET http://bob:pa55word@prom:9090/api/v1/query failed", "pa55word"),
        ("headers={'Authorization': 'Bearer eyJhbGciOi.abc.def'}", "eyJhbGciOi"),
        ("Authorization: Basic Ym9iOnBhNTV3b3Jk", "Ym9iOnBhNTV3b3Jk"),
        ("curl -H 'authorization: bearer xyz-987654'", "xyz-987654"),
        ("token=abcdef123 and more", "abcdef123"),
        ('{"password": "hunter22"}', "hunter22"),
        ("client_secret: zzz999zzz", "zzz999zzz"),
    ],
)
def test_redact_text_removes_secret(text: str, secret: str) -> None:
    out = redact_text(text)
    assert secret not in out
    assert REDACTED in out


def test_redact_text_removes_known_literal_secrets_anywhere() -> None:
    out = redact_text("oops the value tok-123456 leaked", ["tok-123456"])
    assert out == "oops the value [redacted] leaked"


def test_redact_text_leaves_ordinary_text_and_promql_alone() -> None:
    text = 'sum(rate(container_cpu_usage_seconds_total{namespace="agents"}[5m])) tokens: 5'
    assert redact_text(text) == text


def test_redact_value_walks_json_and_blanks_secret_keys() -> None:
    value = {
        "url": "http://u:p4ssw0rd@h",
        "headers": {"Authorization": "Bearer abc", "Accept": "json"},
        "items": [{"apiKey": "k-1"}, "text with token=zz-top"],
        "count": 3,
        "token": None,
    }
    assert redact_value(value) == {
        "url": "http://[redacted]@h",
        "headers": {"Authorization": REDACTED, "Accept": "json"},
        "items": [{"apiKey": REDACTED}, "text with token=[redacted]"],
        "count": 3,
        "token": None,
    }


def test_is_secret_key() -> None:
    assert is_secret_key("Authorization")
    assert is_secret_key("bearer_token")
    assert not is_secret_key("namespace")
    assert not is_secret_key("tokens")
