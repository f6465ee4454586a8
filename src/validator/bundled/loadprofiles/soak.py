"""Soak: 60% of the user cap for 8 hours real time, for leaks, PVC growth and slow drift.

    locust -f loadprofiles/soak.py --headless --host http://127.0.0.1:PORT \
        --max-users 20 --max-spawn-rate 5 --max-duration 900 --time-factor 96

Caps are required (loadprofiles/load_caps.py); hosts outside the allow-list are refused.
"""

from __future__ import annotations

from workflow_users import ProfileShape, target_user_class

WorkflowUser = target_user_class()


class SoakShape(ProfileShape):
    abstract = False
    profile_name = "soak"
