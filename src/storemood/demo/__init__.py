"""``storemood demo``: the whole product on a store clip built from photos the installed packages ship.

Everything the demo is lives here: ``store.yaml`` (the demo shop: one camera, three shelf zones and their
products; the only place the shelf's geometry is written), :mod:`.clip` (draws that shelf and walks three
real faces past it) and :mod:`.run` (runs the pipeline on the clip into a database and reports on it).
Imports ``config``, ``pipeline/``, ``database/`` and ``analytics/``; only ``cli/``, benchmarks and tests
import it.
"""

from __future__ import annotations

from pathlib import Path

#: The demo shop's layout. Its zones are what the clip draws as shelf sections and what visits are counted in.
DEMO_STORE = Path(__file__).with_name("store.yaml")
