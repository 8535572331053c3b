"""Automations: event-driven billing workflows (triggers, conditions, steps, executions)."""
