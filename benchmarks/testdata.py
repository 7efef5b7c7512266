"""The test suite's generated data for the benchmarks: synthetic visit events and a throwaway PostgreSQL schema.

They live with the tests (tests/synthetic_events.py, tests/scratch_postgres.py), not in the product; a
benchmark imports them from here, which puts the tests folder on the import path once.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from scratch_postgres import scratch_schema
from synthetic_events import EPOCH, synthetic_events

__all__ = ["EPOCH", "scratch_schema", "synthetic_events"]
