"""The engine's clock (shared with billing_events): tests move it instead of sleeping."""
from billing_events.clock import advance, now, set_now, set_virtual, virtual_time

__all__ = ["advance", "now", "set_now", "set_virtual", "virtual_time"]
