"""Caps and allow-lists every load profile enforces before it sends anything."""

from __future__ import annotations

import pytest
from load_caps import (
    HARD_MAX_DURATION_S,
    HARD_MAX_SPAWN_RATE,
    HARD_MAX_USERS,
    LoadCaps,
    LoadRefused,
    check_context,
    check_host,
    check_requested,
    parse_caps,
    parse_think_time,
    shape_duration,
)

GOOD = {"max_users": "10", "max_spawn_rate": "2", "max_duration": "300"}


@pytest.mark.parametrize("missing", ["max_users", "max_spawn_rate", "max_duration"])
@pytest.mark.parametrize("empty", [None, "", "   "])
def test_each_cap_is_required(missing: str, empty: str | None) -> None:
    values = {**GOOD, missing: empty}
    with pytest.raises(LoadRefused) as refused:
        parse_caps(**values)
    assert "is not set" in refused.value.what
    assert "--max-" in refused.value.where and "VALIDATOR_LOAD_MAX_" in refused.value.where
    assert "pass --max-" in refused.value.fix


@pytest.mark.parametrize(("cap", "value"), [
    ("max_users", str(HARD_MAX_USERS + 1)),
    ("max_spawn_rate", str(HARD_MAX_SPAWN_RATE + 0.5)),
    ("max_duration", str(HARD_MAX_DURATION_S + 1)),
])
def test_caps_above_hard_maxima_are_refused(cap: str, value: str) -> None:
    with pytest.raises(LoadRefused, match="above the hard maximum"):
        parse_caps(**{**GOOD, cap: value})


@pytest.mark.parametrize("value", ["ten", "0", "-3", "nan", "inf", "2.5"])
def test_bad_user_caps_are_refused(value: str) -> None:
    with pytest.raises(LoadRefused):
        parse_caps(**{**GOOD, "max_users": value})


def test_caps_at_the_maxima_are_accepted() -> None:
    caps = parse_caps(max_users=str(HARD_MAX_USERS), max_spawn_rate=str(HARD_MAX_SPAWN_RATE),
                      max_duration=str(HARD_MAX_DURATION_S), time_factor="60", profile_duration="120")
    assert caps == LoadCaps(max_users=HARD_MAX_USERS, max_spawn_rate=HARD_MAX_SPAWN_RATE,
                            max_duration_s=HARD_MAX_DURATION_S, time_factor=60.0, profile_duration_s=120.0)


def test_time_factor_above_its_maximum_is_refused() -> None:
    with pytest.raises(LoadRefused, match="time factor"):
        parse_caps(**GOOD, time_factor="100000")


@pytest.mark.parametrize(("users", "rate", "run_time", "message"), [
    (11, None, None, "-u/--users 11"),
    (None, 2.5, None, "-r/--spawn-rate 2.5"),
    (None, None, 301.0, "-t/--run-time 301s"),
])
def test_locust_own_arguments_above_the_caps_are_refused(users: int | None, rate: float | None,
                                                         run_time: float | None, message: str) -> None:
    with pytest.raises(LoadRefused, match=message.replace("/", "/").replace("-", "-")):
        check_requested(parse_caps(**GOOD), users=users, spawn_rate=rate, run_time_s=run_time)


def test_locust_own_arguments_within_the_caps_pass() -> None:
    check_requested(parse_caps(**GOOD), users=10, spawn_rate=2.0, run_time_s=300.0)


def test_a_shape_longer_than_max_duration_is_refused_not_cut() -> None:
    caps = parse_caps(**GOOD, time_factor="2")
    with pytest.raises(LoadRefused) as refused:
        shape_duration(caps, base_duration_s=1800, profile="steady")
    assert "900s" in refused.value.what and "--max-duration 300s" in refused.value.what
    assert "raise --max-duration to 900" in refused.value.fix


def test_shape_duration_is_compressed_or_explicit() -> None:
    assert shape_duration(parse_caps(**GOOD, time_factor="10"), base_duration_s=1800, profile="x") == 180.0
    explicit = parse_caps(**GOOD, profile_duration="42")
    assert shape_duration(explicit, base_duration_s=1800, profile="x") == 42.0


@pytest.mark.parametrize("url", ["http://127.0.0.1:8080", "http://localhost", "https://LOCALHOST:1/x",
                                 "http://[::1]:9000", "127.0.0.1:5000"])
def test_loopback_hosts_are_allowed_by_default(url: str) -> None:
    check_host(url)


@pytest.mark.parametrize("url", ["http://example.com", "http://10.0.0.5:80", "http://127.0.0.2",
                                 "http://localhost.evil.com", "http://0.0.0.0:80", "http://[::2]:1"])
def test_other_hosts_are_refused(url: str) -> None:
    with pytest.raises(LoadRefused) as refused:
        check_host(url)
    assert "allow-list" in refused.value.what
    assert "--allowed-hosts" in refused.value.fix


def test_missing_host_and_other_schemes_are_refused() -> None:
    with pytest.raises(LoadRefused, match="no target host"):
        check_host(None)
    with pytest.raises(LoadRefused, match="not an http"):
        check_host("ftp://127.0.0.1/")


def test_credentials_in_the_url_are_refused_and_not_echoed() -> None:
    with pytest.raises(LoadRefused) as refused:
        check_host("http://admin:s3cret@127.0.0.1:80")
    assert "s3cret" not in str(refused.value)


def test_the_allow_list_can_be_extended_on_purpose() -> None:
    assert check_host("http://platform.test:80", ["platform.test"]) == "platform.test"
    assert check_host("http://10.0.0.5", ["10.0.0.5"]) == "10.0.0.5"


def test_kubernetes_contexts_are_allow_listed() -> None:
    assert check_context("kwok-validator-sandbox") == "kwok-validator-sandbox"
    with pytest.raises(LoadRefused, match="not on the allow-list"):
        check_context("prod-eu-1")
    with pytest.raises(LoadRefused, match="no kubeconfig context"):
        check_context(None)
    assert check_context("staging", ["staging"]) == "staging"


def test_a_fixed_think_time_is_optional_and_bounded() -> None:
    assert parse_think_time(None) is None and parse_think_time("") is None
    assert parse_think_time("0") == 0.0 and parse_think_time("2.5") == 2.5
    for bad in ("-1", "3601", "soon", "nan"):
        with pytest.raises(LoadRefused, match="think-time"):
            parse_think_time(bad)
