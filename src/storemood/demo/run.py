"""Running the demo: the live pipeline on the demo clip, visits into a database, and the product report.

``storemood demo`` calls :func:`run_demo` with :func:`demo_sinks` (the demo shop's visits, replacing the
previous demo's), prints :func:`format_summary` and then :func:`demo_report`. Each step is its own
function, so tests and benchmarks can build the clip once and run only the part they check.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from pathlib import Path

from storemood.config import load_store
from storemood.database.event_table import EventTable
from storemood.demo import DEMO_STORE
from storemood.demo.clip import CLIP_SECONDS, DEMO_ROUNDS, DemoClip, build_store_clip, demo_shoppers
from storemood.errors import UserError
from storemood.pipeline.frames import Sink
from storemood.pipeline.loop import run_source
from storemood.pipeline.options import RunOptions
from storemood.pipeline.retail import build_sinks
from storemood.pipeline.summary import RunSummary


def run_demo_pipeline(clip: DemoClip, options: RunOptions | None = None, sinks: Sequence[Sink] = ()) -> RunSummary:
    """Run the live pipeline on the demo clip (the shipped model unless ``options.model`` says otherwise)."""
    return run_source(clip.path, options or RunOptions(), sinks=sinks)


def format_summary(summary: RunSummary, clip: DemoClip) -> str:
    """What the pipeline saw, as a few lines for the terminal."""
    shelf = ", ".join(section.product for section in clip.shelf)
    header = (
        f"demo clip: {clip.frames} frames {clip.size[0]}x{clip.size[1]} at {clip.fps:g} fps, "
        f"{len(clip.shoppers)} shoppers ({', '.join(clip.shoppers)}) passing a shelf of {shelf}, "
        f"every {CLIP_SECONDS:g} s"
    )
    return f"{header}\n{summary.describe()}"


def run_demo(options: RunOptions | None = None, sinks: Sequence[Sink] = ()) -> tuple[RunSummary, DemoClip]:
    """Build the clip (:data:`DEMO_ROUNDS` rounds of the shoppers' walk) in a temporary folder, run the
    pipeline on it, delete the clip."""
    with tempfile.TemporaryDirectory(prefix="storemood-demo-") as folder:
        clip = build_store_clip(
            Path(folder) / "store.avi", seconds=CLIP_SECONDS * DEMO_ROUNDS, shoppers=demo_shoppers(DEMO_ROUNDS)
        )
        return run_demo_pipeline(clip, options, sinks), clip


def demo_sinks(db_url: str | None) -> list[Sink]:
    """Sinks for ``storemood demo``: the demo layout's visits (after deleting the previous demo's events), and
    its camera's heartbeat and still, so the dashboard's camera panel has something to show.

    Only events of the demo store (id ``demo``) are deleted, never anyone else's.
    """
    layout = load_store(DEMO_STORE)
    with EventTable(db_url) as table:
        table.delete_store(layout.id)
    return build_sinks(DEMO_STORE, layout.cameras[0].id, db_url)


def demo_report(db_url: str | None):
    """The demo store's per-product report as a rich renderable (a note when no visit was long enough)."""
    from storemood.analytics.queries import Filters
    from storemood.analytics.report import build_report, to_table

    layout = load_store(DEMO_STORE)
    only_demo = Filters(stores=(layout.id,))
    with EventTable(db_url) as table:
        try:
            report = build_report(table.engine, "product", only_demo, layout.settings.engagement_dwell_s)
        except UserError:
            return "No visit lasted long enough to count (see settings in the demo store layout)."
    return to_table(report)
