"""Labelled store clips for measuring tracking and visit counting (``benchmarks/bench_visits.py``).

Real people, cut head and shoulders from the portraits in ``../shared/data/real/images`` (:mod:`visits.people`),
walk, stop, turn away and hide behind each other or a hanging sign on real face-free backgrounds, following
seeded scripts (:mod:`visits.scenes`). :mod:`visits.generate` renders a script into a 640x480, 15 fps clip with a
``store.yaml`` (two shelf zones) and a ``truth.json``: every visible face box with its person id, every present
person's zone, and the true visits (:mod:`visits.truth` defines a visit). :mod:`visits.metrics` scores a
tracker's output against the truth. Clips are made at run time from a seed; none is committed.
"""
