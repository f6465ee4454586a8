"""The load: Locust in its own process, bounded by caps and a deadline
(`validator.load.locust_process`: `LocustSpec`, `LocustProcess`, `LocustOutcome`, `LoadProgress`).
The load profiles themselves (steady, burst, diurnal, soak) are the locustfiles in loadprofiles/.
"""

__all__ = ["locust_process"]
