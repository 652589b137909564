"""Call tracker: builds calls from events (keyed by Linkedid, legs by Uniqueid)."""

from monitor.tracker.settings import TrackerSettings
from monitor.tracker.state import CallState, IllegalTransition
from monitor.tracker.tracker import Tracker, TrackerStats

__all__ = ["CallState", "IllegalTransition", "Tracker", "TrackerSettings", "TrackerStats"]
