"""Synthetic visit events: plausible stores, products and reactions for tests and benchmarks.

Each product gets its own mood (a Dirichlet preference over emotions), so aggregates differ between
products in a way tests can check against the generated truth. Seeded: the same arguments give the
same events, ids included.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np

from storemood.emotions import FER7
from storemood.visit_record import VisitEvent

EPOCH = datetime(2026, 11, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Catalogue:
    """The shelf of a synthetic chain: ``products[i]`` of ``brands[i]`` sits in zone ``zone-i``."""

    stores: tuple[str, ...] = ("store-a", "store-b")
    cameras_per_store: int = 2
    products: tuple[str, ...] = ("SKU-1", "SKU-2", "SKU-3", "SKU-4", "SKU-5", "SKU-6")
    brands: tuple[str, ...] = ("Acme", "Acme", "Sunfield", "Sunfield", "Cocoa & Co", "Cocoa & Co")


def synthetic_events(
    n: int,
    seed: int = 0,
    catalogue: Catalogue = Catalogue(),
    start: datetime = EPOCH,
    days: float = 14.0,
    unread_share: float = 0.0,
) -> Iterator[VisitEvent]:
    """``n`` visits spread over ``days`` days from ``start``, in time order per call; about ``unread_share``
    of them from faces that were never readable (no emotion), drawn apart so the others stay the same."""
    rng = np.random.default_rng(seed)
    unread = np.random.default_rng([seed, 1]).random(n) < unread_share
    moods = rng.dirichlet(np.ones(len(FER7)) * 0.7, size=len(catalogue.products)) * 20 + 0.5
    offsets = np.sort(rng.uniform(0, days * 86400, n))
    dwell = rng.lognormal(mean=1.2, sigma=0.8, size=n)
    product = rng.integers(0, len(catalogue.products), n)
    store = rng.integers(0, len(catalogue.stores), n)
    ids = uuid.UUID(int=int(rng.integers(0, 2**62))).int
    for i in range(n):
        p = int(product[i])
        probabilities = rng.dirichlet(moods[p])
        frames = max(1, int(dwell[i] * 15))
        begin = start + timedelta(seconds=float(offsets[i]))
        yield VisitEvent(
            store=catalogue.stores[store[i]],
            camera=f"cam-{p % catalogue.cameras_per_store}",
            zone=f"zone-{p}",
            product=catalogue.products[p],
            product_name=f"Product {p}",
            brand=catalogue.brands[p],
            track_id=i,
            start=begin,
            end=begin + timedelta(seconds=float(dwell[i])),
            frames=frames,
            readable_frames=0 if unread[i] else frames,
            probabilities=None if unread[i] else dict(zip(FER7, probabilities.tolist(), strict=True)),
            dominant_emotion=None if unread[i] else FER7[int(np.argmax(probabilities))],
            face_score=float(rng.uniform(0.6, 1.0)),
            face_size=float(rng.uniform(40, 160)),
            id=str(uuid.UUID(int=(ids + i) % 2**128)),
        )


def row_before_0006(visit: VisitEvent) -> dict:
    """The events-table row of ``visit`` as a database at a revision before 0006 stores it (no
    ``readable_frames``), with datetimes bound, for tests that fill an old schema and migrate it."""
    from storemood.database.event_table import event_to_row

    row = event_to_row(visit)
    del row["readable_frames"]
    row.update(start=datetime.fromisoformat(row["start"]), end=datetime.fromisoformat(row["end"]))
    return {**row, "recorded_at": datetime.now(UTC)}
