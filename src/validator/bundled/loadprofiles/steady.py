"""Steady: constant workflow submissions at the user cap (30 min real time).

    locust -f loadprofiles/steady.py --headless --host http://127.0.0.1:PORT \
        --max-users 20 --max-spawn-rate 5 --max-duration 900 --time-factor 10

Caps are required (loadprofiles/load_caps.py); hosts outside the allow-list are refused.
"""

from __future__ import annotations

from workflow_users import ProfileShape, target_user_class

WorkflowUser = target_user_class()


class SteadyShape(ProfileShape):
    abstract = False
    profile_name = "steady"
