"""The suite run's side of a held load profile: the file it writes is the one the locustfile reads."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

from shape_curves import seconds_held

from validator.load.shape_hold import ShapeHold


def _read(path: Path, now: float, max_hold_s: float) -> float:
    return seconds_held(json.loads(path.read_text()), now, max_hold_s)


def test_holds_and_releases_are_what_the_locustfile_reads(tmp_path: Path) -> None:
    path = tmp_path / "load" / "shape_hold.json"
    hold = ShapeHold(path, max_hold_s=100.0)
    assert hold.held_s(now=1000.0) == 0.0 and not path.exists(), "nothing written before a hold"
    hold.hold(now=1000.0)
    hold.hold(now=1005.0)  # already holding: the first start counts
    assert hold.held_s(now=1010.0) == _read(path, 1010.0, 100.0) == 10.0
    assert hold.release(now=1012.0) == 12.0
    assert hold.release(now=1013.0) == 0.0, "nothing to release"
    assert hold.held_s(now=2000.0) == _read(path, 2000.0, 100.0) == 12.0, "a released hold stays counted"
    hold.hold(now=2000.0)
    assert hold.release(now=2200.0) == 88.0, "the most a run may hold"
    assert hold.held_s(now=3000.0) == _read(path, 3000.0, 100.0) == 100.0


def test_a_run_that_may_not_hold_writes_nothing(tmp_path: Path) -> None:
    hold = ShapeHold(tmp_path / "shape_hold.json", max_hold_s=0.0)
    hold.hold(now=10.0)
    assert hold.release(now=20.0) == 0.0 and not (tmp_path / "shape_hold.json").exists()


def test_an_experiment_within_its_slot_holds_nothing(tmp_path: Path) -> None:
    hold = ShapeHold(tmp_path / "shape_hold.json", max_hold_s=60.0)
    with hold.from_moment(time.time() + 30.0) as span:
        pass  # the experiment ended long before the next fault's point
    assert span.seconds == 0.0 and hold.held_s() == 0.0
    assert not (tmp_path / "shape_hold.json").exists()


def test_an_experiment_past_the_next_point_holds_from_that_point_until_it_ends(tmp_path: Path) -> None:
    hold = ShapeHold(tmp_path / "shape_hold.json", max_hold_s=60.0)
    started = time.time()
    with hold.from_moment(started + 0.2) as span:
        time.sleep(0.7)  # 0.5 s past the next point
        assert hold.held_s() > 0.0, "holding while the experiment runs"
        ended = time.time()
    # the hold ran from the timer's start (at least 0.2 s in) to the block's end
    assert 0.0 < span.seconds <= ended - (started + 0.2) + 0.05
    assert span.seconds == hold.held_s() and not span.reached_max
    assert json.loads((tmp_path / "shape_hold.json").read_text())["since"] is None, "released"


def test_the_hold_is_released_when_the_experiment_raises(tmp_path: Path) -> None:
    hold = ShapeHold(tmp_path / "shape_hold.json", max_hold_s=60.0)
    try:
        with hold.from_moment(time.time()):
            time.sleep(0.2)
            raise KeyboardInterrupt
    except KeyboardInterrupt:
        pass
    assert json.loads((tmp_path / "shape_hold.json").read_text())["since"] is None
    assert hold.held_s() > 0.0
    assert not any(isinstance(t, threading.Timer) for t in threading.enumerate()), "no timer left"
