"""``manage.py automations_bench``: what the engine costs, each figure beside a bare baseline
measured in the same run (absolute rates depend on the machine; the ratios are what to compare).

- ``in_process``: ingest, steps through the worker path and the wake-up sweep, in one process;
- ``cluster``: the same automation end to end through a real django-q2 cluster, dispatch with many
  unrelated automations, and how late wake-ups run with the default tick.
"""
