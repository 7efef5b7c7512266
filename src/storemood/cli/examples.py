"""Two or three worked examples at the end of every sub-command's ``--help``: what a user types first."""

from __future__ import annotations

import argparse

EXAMPLES: dict[str, tuple[str, ...]] = {
    "detect": (
        "storemood detect shelf.jpg                       # faces and emotions, one line each",
        "storemood detect photos/*.jpg --json > faces.json",
        "storemood detect shelf.jpg --annotate shelf-annotated.png --store store.yaml --camera aisle-3",
    ),
    "run": (
        "storemood run clip.mp4 --output annotated.mp4    # watch what it sees",
        "storemood run rtsp://cam-3/stream --store store.yaml --camera aisle-3 --db sqlite:///events.db",
        "storemood run --store store.yaml --publish mqtt://127.0.0.1:1883/shop   # every camera, visits to MQTT",
    ),
    "demo": (
        "storemood demo                                   # then: storemood report, storemood serve",
        "storemood demo --db sqlite:///demo.db --json",
    ),
    "report": (
        "storemood report                                 # per product, as a table",
        "storemood report --by hour --since 2026-12-01 --timezone Europe/Paris",
        "storemood report --by brand --format html --out brands.html",
    ),
    "compare": (
        "storemood compare SKU-1042 SKU-2001",
        "storemood compare Roastery Leafline --by brand --since 2026-11-01",
    ),
    "export": (
        "storemood export --since 2026-11-01 --until 2026-12-01 --out november.csv",
        "storemood export --format jsonl --store downtown-01 | gzip > visits.jsonl.gz",
        "storemood export --format parquet --out visits.parquet   # needs pandas and pyarrow",
    ),
    "prune": (
        "storemood prune --older-than 90",
        "storemood prune --older-than 30 --db postgresql+psycopg://storemood@db/storemood",
    ),
    "serve": (
        "storemood serve                                  # http://127.0.0.1:8000/",
        "STOREMOOD_API_TOKEN=... storemood serve --host 0.0.0.0 --db postgresql+psycopg://storemood@db/storemood",
        "storemood serve --workers 4 --db postgresql+psycopg://storemood@db/storemood   # many dashboard users",
    ),
    "simulate": (
        "storemood simulate --db sqlite:///sim.db --stores 5 --days 28   # then: storemood serve --db sqlite:///sim.db",
        "storemood simulate --db postgresql+psycopg://storemood@db/sim --stores 500 --cameras-per-store 10 "
        "--days 30 --events 10000000 --seed 1",
        "storemood compare COF-001 CHO-003 --db sqlite:///sim.db   # a well-liked and a disliked product",
    ),
    "data-info": (
        "storemood data-info ../shared/data/fer2013",
        "storemood data-info ../shared/data/fer2013 --out grid.png --per-class 8",
    ),
    "train": (
        "storemood train ../shared/data/fer2013 --epochs 100 --int8 --precision bf16",
        "storemood train ../shared/data/fer2013 --out runs/x --resume   # continue an interrupted run",
    ),
    "evaluate": (
        "storemood evaluate ../shared/data/fer2013               # the shipped model on the val split",
        "storemood evaluate ../shared/data/fer2013 --model runs/x/best.pt --tta --json",
    ),
    "export-onnx": (
        "storemood export-onnx runs/x/best.pt model.onnx --int8",
        "storemood run clip.mp4 --model model.onnx",
    ),
}


def add_examples(subparsers: argparse._SubParsersAction) -> None:
    """End each sub-command's help with its examples (after any epilog it already has)."""
    for name, parser in subparsers.choices.items():
        lines = "\n".join(f"  {line}" for line in EXAMPLES[name])
        parser.epilog = (f"{parser.epilog}\n\n" if parser.epilog else "") + f"examples:\n{lines}"
        parser.formatter_class = argparse.RawDescriptionHelpFormatter
