"""Safety caps every load profile enforces before it sends anything. Pure: no Locust import.

A profile refuses to start when a cap is missing, is above its hard maximum, or when the target is
not on the allow-list. Caps come from Locust custom arguments, each of which Locust also reads from
an environment variable (the `env` column below), so both `locust -f ... --max-users 20` and
`VALIDATOR_LOAD_MAX_USERS=20 locust -f ...` work.

| cap / setting         | argument            | env                                | hard maximum |
|-----------------------|---------------------|------------------------------------|--------------|
| users                 | --max-users         | VALIDATOR_LOAD_MAX_USERS           | 500          |
| spawn rate (users/s)  | --max-spawn-rate    | VALIDATOR_LOAD_MAX_SPAWN_RATE      | 50           |
| duration (s)          | --max-duration      | VALIDATOR_LOAD_MAX_DURATION        | 259200 (3 d) |
| time factor           | --time-factor       | VALIDATOR_LOAD_TIME_FACTOR         | 3600         |
| extra allowed hosts   | --allowed-hosts     | VALIDATOR_LOAD_ALLOWED_HOSTS       |              |
| fixed think time (s)  | --think-time        | VALIDATOR_LOAD_THINK_TIME          | 3600         |

`--think-time` replaces the mix's realistic think times by a fixed wait (0 for a closed loop, as the
throughput benchmark does); the user cap still bounds the load.
"""

from __future__ import annotations

import ipaddress
import math
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

HARD_MAX_USERS = 500
HARD_MAX_SPAWN_RATE = 50.0
HARD_MAX_DURATION_S = 3 * 24 * 3600.0  # soak on a real cluster: days at most
HARD_MAX_TIME_FACTOR = 3600.0
DEFAULT_ALLOWED_HOSTS = ("127.0.0.1", "localhost", "::1")
DEFAULT_ALLOWED_CONTEXTS = ("kwok-validator-sandbox",)

ENV_MAX_USERS = "VALIDATOR_LOAD_MAX_USERS"
ENV_MAX_SPAWN_RATE = "VALIDATOR_LOAD_MAX_SPAWN_RATE"
ENV_MAX_DURATION = "VALIDATOR_LOAD_MAX_DURATION"
ENV_TIME_FACTOR = "VALIDATOR_LOAD_TIME_FACTOR"
ENV_PROFILE_DURATION = "VALIDATOR_LOAD_PROFILE_DURATION"
ENV_ALLOWED_HOSTS = "VALIDATOR_LOAD_ALLOWED_HOSTS"
ENV_ALLOWED_CONTEXTS = "VALIDATOR_LOAD_ALLOWED_CONTEXTS"
ENV_THINK_TIME = "VALIDATOR_LOAD_THINK_TIME"
HARD_MAX_THINK_TIME_S = 3600.0


class LoadRefused(ValueError):
    """A load profile refused to start; the message says what, where and how to fix it."""

    def __init__(self, what: str, *, where: str, fix: str) -> None:
        self.what, self.where, self.fix = what, where, fix
        super().__init__(f"{what}\n  where: {where}\n  fix:   {fix}")


@dataclass(frozen=True, slots=True, kw_only=True)
class LoadCaps:
    max_users: int
    max_spawn_rate: float
    max_duration_s: float
    time_factor: float = 1.0
    profile_duration_s: float | None = None  # wall-clock length of the shape; None: the profile's own


def _number(raw: object, *, name: str, arg: str, env: str, hard_max: float, integer: bool) -> float:
    where = f"Locust argument {arg} (or env {env})"
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        raise LoadRefused(f"load cap {name} is not set: every load profile needs it", where=where,
                          fix=f"pass {arg} N (at most {hard_max:g}) or export {env}=N")
    try:
        value = float(str(raw).strip())
    except ValueError:
        raise LoadRefused(f"load cap {name} is not a number: {raw!r}", where=where,
                          fix=f"give a number between 1 and {hard_max:g}") from None
    if not math.isfinite(value) or value <= 0:
        raise LoadRefused(f"load cap {name} must be > 0, got {raw!r}", where=where,
                          fix=f"give a number between 1 and {hard_max:g}")
    if integer and value != int(value):
        raise LoadRefused(f"load cap {name} must be a whole number, got {raw!r}", where=where,
                          fix=f"give a whole number between 1 and {hard_max:g}")
    if value > hard_max:
        raise LoadRefused(f"load cap {name}={raw} is above the hard maximum {hard_max:g}", where=where,
                          fix=f"lower it to {hard_max:g} or less (maxima: loadprofiles/load_caps.py)")
    return value


def parse_caps(*, max_users: object, max_spawn_rate: object, max_duration: object,
               time_factor: object = None, profile_duration: object = None) -> LoadCaps:
    """Validated caps from raw values (argument or environment strings); raises LoadRefused."""
    users = _number(max_users, name="max users", arg="--max-users", env=ENV_MAX_USERS,
                    hard_max=HARD_MAX_USERS, integer=True)
    rate = _number(max_spawn_rate, name="max spawn rate", arg="--max-spawn-rate", env=ENV_MAX_SPAWN_RATE,
                   hard_max=HARD_MAX_SPAWN_RATE, integer=False)
    duration = _number(max_duration, name="max duration (seconds)", arg="--max-duration",
                       env=ENV_MAX_DURATION, hard_max=HARD_MAX_DURATION_S, integer=False)
    factor = 1.0
    if time_factor is not None and str(time_factor).strip():
        factor = _number(time_factor, name="time factor", arg="--time-factor", env=ENV_TIME_FACTOR,
                         hard_max=HARD_MAX_TIME_FACTOR, integer=False)
    wanted: float | None = None
    if profile_duration is not None and str(profile_duration).strip():
        wanted = _number(profile_duration, name="profile duration (seconds)", arg="--profile-duration",
                         env=ENV_PROFILE_DURATION, hard_max=HARD_MAX_DURATION_S, integer=False)
    return LoadCaps(max_users=int(users), max_spawn_rate=rate, max_duration_s=duration,
                    time_factor=factor, profile_duration_s=wanted)


def check_requested(caps: LoadCaps, *, users: int | None, spawn_rate: float | None,
                    run_time_s: float | None) -> None:
    """Refuse Locust's own -u / -r / -t when they exceed the caps (a shape ignores -u and -r,
    but a run without the shape, e.g. `--class-picker`, would not)."""
    if users is not None and users > caps.max_users:
        raise LoadRefused(f"-u/--users {users} is above the cap --max-users {caps.max_users}",
                          where="Locust argument -u/--users", fix="lower -u or raise --max-users")
    if spawn_rate is not None and spawn_rate > caps.max_spawn_rate:
        raise LoadRefused(f"-r/--spawn-rate {spawn_rate:g} is above the cap --max-spawn-rate "
                          f"{caps.max_spawn_rate:g}", where="Locust argument -r/--spawn-rate",
                          fix="lower -r or raise --max-spawn-rate")
    if run_time_s is not None and run_time_s > caps.max_duration_s:
        raise LoadRefused(f"-t/--run-time {run_time_s:g}s is above the cap --max-duration "
                          f"{caps.max_duration_s:g}s", where="Locust argument -t/--run-time",
                          fix="lower -t or raise --max-duration")


def shape_duration(caps: LoadCaps, *, base_duration_s: float, profile: str) -> float:
    """Wall-clock length of a shape: --profile-duration, else the profile's real-cluster length divided
    by the time factor. Refused when it would run past --max-duration (a shape never gets cut short)."""
    duration = caps.profile_duration_s if caps.profile_duration_s else base_duration_s / caps.time_factor
    if duration > caps.max_duration_s:
        raise LoadRefused(
            f"the {profile} profile would run {duration:g}s, "
            f"longer than --max-duration {caps.max_duration_s:g}s",
            where="--max-duration / --time-factor / --profile-duration",
            fix=f"raise --max-duration to {math.ceil(duration)}, raise --time-factor (compressed time), "
                "or set a shorter --profile-duration")
    return duration


def parse_think_time(raw: object) -> float | None:
    """A fixed think time in seconds, or None (the mix's realistic think times)."""
    if raw is None or not str(raw).strip():
        return None
    where = f"Locust argument --think-time (or env {ENV_THINK_TIME})"
    try:
        value = float(str(raw).strip())
    except ValueError:
        raise LoadRefused(f"--think-time is not a number: {raw!r}", where=where,
                          fix="give seconds (0, 2.5...), or leave it unset for realistic ones") from None
    if not math.isfinite(value) or not 0 <= value <= HARD_MAX_THINK_TIME_S:
        raise LoadRefused(f"--think-time {raw!r} is outside [0, {HARD_MAX_THINK_TIME_S:g}]", where=where,
                          fix="give seconds between 0 and 3600")
    return value


def allowed_hosts(extra: Iterable[str] = ()) -> frozenset[str]:
    names = {h.strip().lower().strip("[]") for h in (*DEFAULT_ALLOWED_HOSTS, *extra) if h.strip()}
    return frozenset(names)


def split_list(raw: str | None) -> tuple[str, ...]:
    return tuple(p.strip() for p in (raw or "").split(",") if p.strip())


def check_host(url: str | None, extra_allowed: Iterable[str] = ()) -> str:
    """The lower-cased host name of `url`, or LoadRefused when it is missing or not allowed."""
    where = "Locust --host (or the User class's host)"
    allowed = allowed_hosts(extra_allowed)
    if not url:
        raise LoadRefused("no target host given", where=where,
                          fix="pass --host http://127.0.0.1:PORT (the simulated platform's submission API)")
    parts = urlsplit(url if "://" in url else f"http://{url}")
    if parts.scheme not in ("http", "https"):
        raise LoadRefused(f"target {url!r} is not an http(s) URL", where=where,
                          fix="pass --host http://HOST:PORT")
    host = (parts.hostname or "").lower()
    if parts.username or parts.password:
        raise LoadRefused("the target URL carries credentials", where=where,
                          fix="remove user:password@ from --host; pass credentials some other way")
    if host in allowed:
        return host
    try:  # 127.0.0.2 written differently is still only itself; compare addresses, not spellings
        address = ipaddress.ip_address(host)
        if any(_same_address(address, a) for a in allowed):
            return host
    except ValueError:
        pass
    raise LoadRefused(f"target host {host!r} is not on the allow-list {sorted(allowed)}", where=where,
                      fix="point --host at an allowed host, or extend the list on purpose with "
                          f"--allowed-hosts {host} (env {ENV_ALLOWED_HOSTS})")


def _same_address(address: ipaddress.IPv4Address | ipaddress.IPv6Address, name: str) -> bool:
    try:
        return ipaddress.ip_address(name) == address
    except ValueError:
        return False


def check_context(context: str | None, extra_allowed: Iterable[str] = ()) -> str:
    """A kubeconfig context the Kubernetes-object target may write to, or LoadRefused."""
    allowed = {*DEFAULT_ALLOWED_CONTEXTS, *extra_allowed}
    if not context:
        raise LoadRefused("no kubeconfig context given for the Kubernetes target",
                          where="env VALIDATOR_LOAD_K8S_CONTEXT",
                          fix="export VALIDATOR_LOAD_K8S_CONTEXT=kwok-validator-sandbox")
    if context not in allowed:
        raise LoadRefused(f"kubeconfig context {context!r} is not on the allow-list {sorted(allowed)}",
                          where="env VALIDATOR_LOAD_K8S_CONTEXT",
                          fix=f"use an allowed context, or extend the list on purpose with "
                              f"{ENV_ALLOWED_CONTEXTS}={context}")
    return context
