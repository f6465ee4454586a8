"""How often the history's change-point detector cries wolf, and how soon it sees a real change.

    python benchmarks/history_detector.py        (writes benchmarks/results/history_detector.json)

Noise only: 200 series of 20 nights, value 40 with sd 3 (7.5% of the mean): the share flagging any
change. Steps: 200 series of 10 nights at 40 then 6 at 40 + k*sd: the share flagged as a regression
at the right night, per step size k. The morning after: 200 series of 2 or 5 nights at 40, then one
night at 40 + k*sd: the share flagged as a regression on that night (a change point cannot see one
night yet; the step check can), and on noise alone (k = 0), its false alarms.
"""

from __future__ import annotations

import json
import random
import time
from pathlib import Path

from validator.history.changes import Trend, detect

RESULTS = Path(__file__).resolve().parent / "results" / "history_detector.json"
SERIES = 200


def main() -> None:
    started = time.perf_counter()
    false_alarms = 0
    for seed in range(SERIES):
        rng = random.Random(seed)
        if detect([40 + rng.gauss(0, 3) for _ in range(20)], {"max": 300}).shifts:
            false_alarms += 1
    found: dict[str, float] = {}
    for k in (1, 2, 3, 5, 10):
        hits = 0
        for seed in range(SERIES):
            rng = random.Random(1000 + seed)
            values = [40 + rng.gauss(0, 3) for _ in range(10)] + [
                40 + k * 3 + rng.gauss(0, 3) for _ in range(6)
            ]
            result = detect(values, {"max": 300})
            hits += int(
                result.trend is Trend.REGRESSED and result.latest is not None and result.latest.index == 10
            )
        found[f"{k} sd"] = hits / SERIES
    morning: dict[str, float] = {}
    for earlier in (2, 5):
        for k in (0, 3, 5, 10):
            hits = 0
            for seed in range(SERIES):
                rng = random.Random(5000 + seed)
                values = [40 + rng.gauss(0, 3) for _ in range(earlier)] + [40 + k * 3 + rng.gauss(0, 3)]
                result = detect(values, {"max": 300})
                hits += int(result.trend is Trend.REGRESSED and result.latest is not None
                            and result.latest.index == earlier)
            morning[f"{earlier} earlier nights, {k} sd"] = hits / SERIES
    figures = {
        "noise_only_false_alarm_share": false_alarms / SERIES,
        "step_found_at_the_right_night_share": found,
        "step_on_the_latest_night_flagged_share": morning,
        "seconds": round(time.perf_counter() - started, 1),
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(figures, indent=2) + "\n")
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
