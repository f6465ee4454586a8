"""The profiles' tick() sequences, from the pure curves (the Locust shapes call exactly these)."""

from __future__ import annotations

import pytest
from load_caps import LoadCaps
from shape_curves import BURST_STEPS, PROFILES, tick_sequence, users_at

CAPS = LoadCaps(max_users=20, max_spawn_rate=5.0, max_duration_s=600.0)


def _users(profile: str, caps: LoadCaps) -> list[int]:
    ticks = tick_sequence(PROFILES[profile], caps)
    assert ticks[-1] is None, "every run ends by itself"
    assert all(t is not None for t in ticks[:-1])
    return [t[0] for t in ticks[:-1] if t is not None]


def test_steady_holds_the_cap_for_the_compressed_duration() -> None:
    caps = LoadCaps(max_users=20, max_spawn_rate=5.0, max_duration_s=600.0, time_factor=60.0)
    users = _users("steady", caps)
    assert len(users) == 30  # 30 min / 60
    assert set(users) == {20}
    assert set(t[1] for t in tick_sequence(PROFILES["steady"], caps)[:-1] if t) == {5.0}


def test_burst_steps_up_to_the_cap_then_back_down() -> None:
    caps = LoadCaps(max_users=20, max_spawn_rate=5.0, max_duration_s=600.0, profile_duration_s=100.0)
    users = _users("burst", caps)
    assert len(users) == 100
    levels = [users[0]]
    for u in users[1:]:
        if u != levels[-1]:
            levels.append(u)
    assert levels == [round(20 * level) for _, level in BURST_STEPS] == [4, 10, 16, 20, 4]
    assert users[:20] == [4] * 20 and users[50:75] == [20] * 25


def test_diurnal_is_low_at_night_and_peaks_mid_day() -> None:
    caps = LoadCaps(max_users=20, max_spawn_rate=5.0, max_duration_s=600.0, time_factor=144.0)
    users = _users("diurnal", caps)
    assert len(users) == 600  # 24 h / 144 = 10 min
    assert users[0] == 2 and max(users) == 20
    peak = [i for i, u in enumerate(users) if u == 20]
    assert abs(sum(peak) / len(peak) - 300) < 2  # the peak plateau is centred on mid-day
    assert users[:300] == sorted(users[:300])  # rising through the morning
    assert users[300:] == sorted(users[300:], reverse=True)  # falling in the evening


def test_soak_holds_sixty_percent() -> None:
    caps = LoadCaps(max_users=10, max_spawn_rate=1.0, max_duration_s=600.0, time_factor=96.0)
    users = _users("soak", caps)
    assert len(users) == 300 and set(users) == {6}


@pytest.mark.parametrize("profile", sorted(PROFILES))
def test_no_tick_exceeds_the_caps_and_at_least_one_user_runs(profile: str) -> None:
    for elapsed in range(0, 601, 7):
        tick = users_at(PROFILES[profile], CAPS, float(elapsed), 600.0)
        if elapsed >= 600:
            assert tick is None
        else:
            assert tick is not None
            assert 1 <= tick[0] <= CAPS.max_users and tick[1] <= CAPS.max_spawn_rate


def test_a_hold_in_progress_counts_until_now_and_released_holds_add_up() -> None:
    from shape_curves import seconds_held

    assert seconds_held({"held_s": 0.0, "since": 100.0}, now=112.5, max_hold_s=60.0) == 12.5
    assert seconds_held({"held_s": 20.0, "since": None}, now=500.0, max_hold_s=60.0) == 20.0
    assert seconds_held({"held_s": 20.0, "since": 100.0}, now=105.0, max_hold_s=60.0) == 25.0
    assert seconds_held({"held_s": 50.0, "since": 100.0}, now=130.0, max_hold_s=60.0) == 60.0  # at most
    for not_a_state in (None, [], "x", {"held_s": "10"}):
        assert seconds_held(not_a_state, now=1.0, max_hold_s=60.0) == 0.0
    assert seconds_held({"held_s": 20.0, "since": None}, now=1.0, max_hold_s=0.0) == 0.0  # holds not allowed


def test_the_profile_stands_still_while_held_and_resumes_where_it_stopped() -> None:
    from shape_curves import seconds_held

    caps = LoadCaps(max_users=20, max_spawn_rate=5.0, max_duration_s=600.0)
    burst = PROFILES["burst"]
    held = {"held_s": 0.0, "since": 180.0}  # held 180 s into a 300 s burst: the peak (100%)
    ticks = [users_at(burst, caps, t - seconds_held(held, t, 200.0), 300.0) for t in range(180, 300, 10)]
    assert set(ticks) == {(20, 5.0)}, "the peak goes on while the hold lasts"
    released = {"held_s": 120.0, "since": None}
    assert users_at(burst, caps, 300.0 - seconds_held(released, 300.0, 200.0), 300.0) == (20, 5.0)
    # the run ends 120 s late
    assert users_at(burst, caps, 420.0 - seconds_held(released, 420.0, 200.0), 300.0) is None
