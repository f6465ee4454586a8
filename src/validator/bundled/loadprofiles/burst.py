"""Burst: steps 20% -> 50% -> 80% -> 100% of the user cap, then back to 20%, to trigger the
controller's scale-up and then watch its scale-down (40 min real time).

    locust -f loadprofiles/burst.py --headless --host http://127.0.0.1:PORT \
        --max-users 20 --max-spawn-rate 5 --max-duration 900 --time-factor 10

Caps are required (loadprofiles/load_caps.py); hosts outside the allow-list are refused.
"""

from __future__ import annotations

from workflow_users import ProfileShape, target_user_class

WorkflowUser = target_user_class()


class BurstShape(ProfileShape):
    abstract = False
    profile_name = "burst"
