"""The load curves of the four profiles, as pure functions of time. No Locust import.

Each profile is a curve over the fraction of its run (0..1) giving the fraction of the user cap
(--max-users) that should be active. A Locust `LoadTestShape` (loadprofiles/workflow_users.py)
turns it into ticks: `(users, spawn_rate)` until the run's wall-clock length, then None.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from load_caps import LoadCaps, shape_duration

Tick = tuple[int, float] | None


@dataclass(frozen=True, slots=True, kw_only=True)
class Profile:
    name: str
    base_duration_s: float  # real-cluster length; divided by the time factor in compressed runs
    curve: Callable[[float], float]  # fraction of the run -> fraction of --max-users
    description: str


def _steady(_: float) -> float:
    return 1.0


# Burst: a baseline, then steps up that outgrow the controller (scale-up), then back to the
# baseline long enough to watch the scale-down stabilisation window.
BURST_STEPS: tuple[tuple[float, float], ...] = (
    (0.20, 0.2),  # until 20% of the run: 20% of the users
    (0.35, 0.5),
    (0.50, 0.8),
    (0.75, 1.0),
    (1.00, 0.2),
)


def _burst(x: float) -> float:
    for until, level in BURST_STEPS:
        if x < until:
            return level
    return BURST_STEPS[-1][1]


DIURNAL_FLOOR = 0.1  # night-time share of the peak


def _diurnal(x: float) -> float:
    """One day: the night floor at the start and end, the peak at mid-run (a raised cosine)."""
    return DIURNAL_FLOOR + (1.0 - DIURNAL_FLOOR) * (1.0 - math.cos(2.0 * math.pi * x)) / 2.0


SOAK_LEVEL = 0.6  # sustained, below the burst peak: the point is duration, not intensity


def _soak(_: float) -> float:
    return SOAK_LEVEL


PROFILES: dict[str, Profile] = {
    "steady": Profile(name="steady", base_duration_s=30 * 60, curve=_steady,
                      description="constant submissions at the user cap for 30 minutes"),
    "burst": Profile(name="burst", base_duration_s=40 * 60, curve=_burst,
                     description="20% -> 50% -> 80% -> 100% of the cap in steps, then back to 20%"),
    "diurnal": Profile(name="diurnal", base_duration_s=24 * 3600, curve=_diurnal,
                       description="one day: 10% of the cap at night, the full cap at mid-day"),
    "soak": Profile(name="soak", base_duration_s=8 * 3600, curve=_soak,
                    description="60% of the cap for 8 hours: leaks, PVC growth, slow drift"),
}


def users_at(profile: Profile, caps: LoadCaps, elapsed_s: float, duration_s: float) -> Tick:
    """The tick of `profile` `elapsed_s` into a run of `duration_s`: None once it is over."""
    if elapsed_s >= duration_s:
        return None
    fraction = profile.curve(max(0.0, elapsed_s) / duration_s)
    users = max(1, min(caps.max_users, round(caps.max_users * fraction)))
    return users, caps.max_spawn_rate


def tick_sequence(profile: Profile, caps: LoadCaps, step_s: float = 1.0) -> list[Tick]:
    """Every tick of a whole run, one per `step_s` of wall-clock time, ending with None."""
    duration = shape_duration(caps, base_duration_s=profile.base_duration_s, profile=profile.name)
    ticks: list[Tick] = []
    t = 0.0
    while True:
        tick = users_at(profile, caps, t, duration)
        ticks.append(tick)
        if tick is None:
            return ticks
        t += step_s


def seconds_held(state: object, now: float, max_hold_s: float) -> float:
    """How long a run's fault schedule has held the shape's clock, at `now` (epoch seconds).

    `state` is the suite runner's hold file, parsed: `{"held_s": seconds held and released,
    "since": epoch seconds a hold in progress began, or null}` (validator/load/shape_hold.py writes
    it). While a fault overruns the slot the suite gave it, the shape stays where it is, so that the
    next fault still meets the load the suite planned for it. Never more than `max_hold_s`; 0 for
    anything that is not such a state (no file yet)."""
    if not isinstance(state, dict) or max_hold_s <= 0:
        return 0.0
    held = state.get("held_s")
    since = state.get("since")
    total = float(held) if isinstance(held, int | float) and held > 0 else 0.0
    if isinstance(since, int | float) and not isinstance(since, bool):
        total += max(0.0, now - float(since))
    return min(total, max_hold_s)
