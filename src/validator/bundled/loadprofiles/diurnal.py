"""Diurnal: one working day, 10% of the user cap at night and the full cap at mid-day (24 h real
time; --time-factor 144 makes it 10 minutes).

    locust -f loadprofiles/diurnal.py --headless --host http://127.0.0.1:PORT \
        --max-users 20 --max-spawn-rate 5 --max-duration 900 --time-factor 144

Caps are required (loadprofiles/load_caps.py); hosts outside the allow-list are refused.
"""

from __future__ import annotations

from workflow_users import ProfileShape, target_user_class

WorkflowUser = target_user_class()


class DiurnalShape(ProfileShape):
    abstract = False
    profile_name = "diurnal"
