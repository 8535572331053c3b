"""Triggers: what starts an execution (events, schedules, manual runs)."""
