"""Outcomes: does an automation work? Tallies kept as runs move (``fold``) and the figures of a
period read from them (``figures``)."""
