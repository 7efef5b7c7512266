"""``storemood simulate``: a chain's worth of plausible visits, written through the normal write path.

A newcomer fills a dashboard with it to explore, and benchmarks load a database to chain size with it. The
visits follow a store's rhythm and a shelf's preferences, so every view has something to show:

- **When.** Stores open at :data:`OPENING_HOURS` (in UTC) with :data:`WEEKDAY_TRAFFIC` and
  :data:`HOUR_TRAFFIC` shaping how busy each day and hour is (a lunch and an after-work peak, a busy
  Saturday); each camera gets its own traffic level (a log-normal draw), as real entrances and corners do.
- **Where.** Each camera watches :data:`ZONES_PER_CAMERA` shelf zones, each showing one product of the
  :data:`CATALOGUE`; products rotate across stores so that each sits in many stores.
- **How shoppers react.** Each product has an ``appeal``: well-liked products draw more happy faces, fewer
  negative ones and longer (log-normal) dwell, so ``storemood compare`` finds real differences between
  them while products of equal appeal differ only by chance.

Visits are made one day at a time, in time order, and stored with :meth:`EventTable.add` in batches. The
seed fixes everything, event ids included, so writing the same simulation twice stores it once.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np

from storemood.emotions import FER7, NEGATIVE
from storemood.errors import UserError
from storemood.visit_record import VisitEvent


@dataclass(frozen=True)
class Product:
    """A product on the simulated shelves; ``appeal`` runs from -1 (disliked) to +1 (well liked)."""

    sku: str
    name: str
    brand: str
    appeal: float


CATALOGUE: tuple[Product, ...] = (
    Product("COF-001", "House blend coffee 500 g", "Roastery", 0.9),
    Product("COF-002", "Espresso beans 1 kg", "Roastery", 0.3),
    Product("COF-003", "Decaf ground 250 g", "Roastery", -0.6),
    Product("TEA-001", "Green tea, 20 bags", "Leafline", 0.0),
    Product("TEA-002", "Chai spice, 20 bags", "Leafline", 0.0),
    Product("TEA-003", "Herbal sleep blend", "Leafline", -0.3),
    Product("CHO-001", "Dark chocolate 70%", "Cocoa & Co", 0.6),
    Product("CHO-002", "Milk chocolate hazelnut", "Cocoa & Co", 0.8),
    Product("CHO-003", "Sugar-free bar", "Cocoa & Co", -0.8),
    Product("CER-001", "Honey oat granola", "Sunfield", 0.2),
    Product("CER-002", "Bran flakes", "Sunfield", -0.2),
    Product("CER-003", "Kids' cocoa rings", "Sunfield", 0.4),
)

#: Opening hours per weekday (Monday first) as [opening, closing) hours in UTC.
OPENING_HOURS: tuple[tuple[int, int], ...] = ((8, 20),) * 4 + ((8, 21), (8, 21), (10, 18))
#: How busy each weekday is, Monday first (Saturday is the busiest, Monday the quietest).
WEEKDAY_TRAFFIC: tuple[float, ...] = (0.75, 0.85, 0.9, 1.0, 1.2, 1.5, 0.9)
#: How busy each hour of the day is while open: a lunch peak and a larger after-work peak.
HOUR_TRAFFIC: tuple[float, ...] = (
    *(0.0,) * 8,
    *(0.5, 0.7, 0.8, 0.9, 1.4, 1.3, 0.9, 0.8, 1.0, 1.6, 1.8, 1.5, 0.9),  # 08:00 to 20:00
    *(0.0,) * 3,
)
ZONES_PER_CAMERA = 2
#: Frames analysed per second of a visit (its ``frames`` field).
FRAMES_PER_SECOND = 15
#: Median dwell of a product of appeal 0 (seconds), the log-normal's spread, and how appeal lengthens it.
DWELL_MEDIAN_S = 4.0
DWELL_SIGMA = 0.8
DWELL_PER_APPEAL = 0.35
#: The Dirichlet concentration of one visit's mean emotion probabilities, for a product of appeal 0.
BASE_MOOD = {"angry": 0.5, "disgust": 0.3, "fear": 0.3, "happy": 1.6, "neutral": 3.0, "sad": 0.7, "surprise": 0.6}
#: Share of visits whose face is never readable (turned to the shelf, too small): stored with no emotion;
#: the others have a readable share of their frames drawn from Beta(READABLE_BETA).
UNREAD_SHARE = 0.08
READABLE_BETA = (4.0, 2.0)
#: Visits written per transaction.
BATCH = 5000
#: Longest simulated period: ten years.
MAX_DAYS = 3660


@dataclass(frozen=True)
class Chain:
    """The simulated stores, cameras and shelf layout."""

    stores: int
    cameras_per_store: int

    def __post_init__(self) -> None:
        if self.stores < 1 or self.cameras_per_store < 1:
            raise UserError("a simulated chain needs at least one store with at least one camera")
        if self.stores > 9999:
            raise UserError(f"at most 9999 simulated stores, not {self.stores}")

    @property
    def cameras(self) -> int:
        return self.stores * self.cameras_per_store

    def store_id(self, store: int) -> str:
        return f"sim-{store + 1:04d}"

    def camera_id(self, camera: int) -> str:
        return f"cam-{camera + 1:02d}"

    def product_index(self, store: int, camera: int, zone: int) -> int:
        """Which catalogue product zone ``zone`` of ``camera`` in ``store`` shows (rotating across stores)."""
        return (store * 5 + camera * ZONES_PER_CAMERA + zone) % len(CATALOGUE)


def moods() -> np.ndarray:
    """Per product (rows) the Dirichlet concentration over :data:`FER7` (columns): appeal tilts it from the
    negative emotions to happy."""
    base = np.array([BASE_MOOD[name] for name in FER7])
    negative = np.array([name in NEGATIVE for name in FER7])
    happy = np.array([name == "happy" for name in FER7])
    rows = []
    for product in CATALOGUE:
        tilt = np.where(happy, np.exp(1.2 * product.appeal), 1.0) * np.where(negative, np.exp(-1.2 * product.appeal), 1)
        rows.append(base * tilt)
    return np.array(rows)


def default_end(now: datetime | None = None) -> datetime:
    """The simulation ends at the start of today (UTC), so 'the last N days' of a dashboard show it."""
    now = now or datetime.now(UTC)
    return now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


def visits_by_day(
    chain: Chain, days: int, events: int, seed: int = 0, end: datetime | None = None
) -> Iterator[list[VisitEvent]]:
    """``events`` visits over the ``days`` days before ``end``, one list per day in time order. The same
    arguments give the same visits, ids included. Bad values are refused at the call, before any visit."""
    if not 1 <= days <= MAX_DAYS:
        raise UserError(f"--days must be from 1 to {MAX_DAYS}, not {days}")
    return _days(chain, days, events, seed, end or default_end())


def _days(chain: Chain, days: int, events: int, seed: int, end: datetime) -> Iterator[list[VisitEvent]]:
    first = end - timedelta(days=days)
    rng = np.random.default_rng(seed)
    weekdays = [(first + timedelta(days=day)).weekday() for day in range(days)]
    day_weights = np.array([WEEKDAY_TRAFFIC[weekday] * _hour_weights(weekday).sum() for weekday in weekdays])
    per_day = rng.multinomial(events, day_weights / day_weights.sum())
    camera_traffic = rng.lognormal(0.0, 0.5, chain.cameras)
    camera_traffic /= camera_traffic.sum()
    shelf = np.array(
        [
            [chain.product_index(*divmod(camera, chain.cameras_per_store), zone) for zone in range(ZONES_PER_CAMERA)]
            for camera in range(chain.cameras)
        ]
    )
    concentration = moods()
    track = 0
    for day, count in enumerate(per_day):
        midnight = first + timedelta(days=day)
        yield _day(rng, chain, midnight, int(count), camera_traffic, shelf, concentration, track)
        track += int(count)


def _hour_weights(weekday: int) -> np.ndarray:
    opening, closing = OPENING_HOURS[weekday]
    hours = np.arange(24)
    return np.where((hours >= opening) & (hours < closing), HOUR_TRAFFIC, 0.0)


def _day(
    rng: np.random.Generator,
    chain: Chain,
    midnight: datetime,
    count: int,
    camera_traffic: np.ndarray,
    shelf: np.ndarray,
    concentration: np.ndarray,
    first_track: int,
) -> list[VisitEvent]:
    """One day's visits, in the order they start."""
    hours = _hour_weights(midnight.weekday())
    offsets = np.sort(rng.choice(24, count, p=hours / hours.sum()) * 3600.0 + rng.uniform(0, 3600, count))
    cameras = rng.choice(chain.cameras, count, p=camera_traffic)
    zones = rng.integers(0, ZONES_PER_CAMERA, count)
    products = shelf[cameras, zones]
    appeal = np.array([product.appeal for product in CATALOGUE])[products]
    dwell = np.clip(rng.lognormal(np.log(DWELL_MEDIAN_S) + DWELL_PER_APPEAL * appeal, DWELL_SIGMA), 0.5, 600.0)
    gammas = rng.gamma(concentration[products])
    probabilities = gammas / gammas.sum(axis=1, keepdims=True)
    dominant = probabilities.argmax(axis=1)
    scores = rng.uniform(0.55, 0.99, count)
    sizes = np.clip(rng.lognormal(np.log(70.0), 0.3, count), 40.0, 300.0)
    ids = rng.bytes(16 * count)
    frames = np.maximum(1, np.round(dwell * FRAMES_PER_SECOND)).astype(int)
    readable = np.where(rng.random(count) < UNREAD_SHARE, 0, np.ceil(frames * rng.beta(*READABLE_BETA, count)))
    visits = []
    for i in range(count):
        store, camera = divmod(int(cameras[i]), chain.cameras_per_store)
        product = CATALOGUE[products[i]]
        start = midnight + timedelta(seconds=float(offsets[i]))
        visits.append(
            VisitEvent(
                store=chain.store_id(store),
                camera=chain.camera_id(camera),
                zone=f"{chain.camera_id(camera)}-shelf-{int(zones[i]) + 1}",
                product=product.sku,
                product_name=product.name,
                brand=product.brand,
                track_id=first_track + i,
                start=start,
                end=start + timedelta(seconds=float(dwell[i])),
                frames=int(frames[i]),
                readable_frames=int(readable[i]),
                probabilities=dict(zip(FER7, probabilities[i].tolist(), strict=True)) if readable[i] else None,
                dominant_emotion=FER7[dominant[i]] if readable[i] else None,
                face_score=float(scores[i]),
                face_size=float(sizes[i]),
                id=str(uuid.UUID(bytes=ids[16 * i : 16 * i + 16], version=4)),
            )
        )
    return visits


@dataclass(frozen=True)
class Written:
    """What one simulation stored: visits made, visits new to the database, and how long it took."""

    visits: int
    added: int
    seconds: float

    @property
    def rate(self) -> float:
        return self.visits / self.seconds if self.seconds else 0.0


def simulate(
    url: str,
    chain: Chain,
    days: int,
    events: int,
    seed: int = 0,
    end: datetime | None = None,
    progress: bool = True,
) -> Written:
    """Write a simulation into the database at ``url`` (created and migrated when new), with a progress bar.

    One thread makes the next batch while another inserts the last one: the database driver waits for the
    server without holding Python's lock, so making and storing visits overlap (1.2-1.5 times faster).
    """
    from tqdm import tqdm

    from storemood.database.event_table import EventTable, event_to_row

    started = time.perf_counter()
    days_of_visits = visits_by_day(chain, days, events, seed, end)
    added = 0
    with (
        EventTable(url) as table,
        ThreadPoolExecutor(max_workers=1, thread_name_prefix="simulate-insert") as inserter,
        tqdm(total=events, unit="visit", disable=not progress, smoothing=0.1) as bar,
    ):
        if table.engine.dialect.name == "sqlite" and table.engine.url.database in (None, "", ":memory:"):
            raise UserError("an in-memory database vanishes when the simulation ends; give a file or a server")
        for store in range(chain.stores):
            table.register_store(chain.store_id(store), f"Simulated store {store + 1}")
        inserting: tuple[Future[int], int] | None = None  # the batch being inserted, and its size
        for day in days_of_visits:
            for offset in range(0, len(day), BATCH):
                rows = [event_to_row(visit) for visit in day[offset : offset + BATCH]]
                if inserting is not None:
                    added += _finished(*inserting, bar)
                inserting = inserter.submit(table.add_rows, rows), len(rows)
        if inserting is not None:
            added += _finished(*inserting, bar)
    return Written(events, added, time.perf_counter() - started)


def _finished(insert: Future[int], size: int, bar) -> int:
    """Wait for one batch's insert, advance the progress bar; returns the visits new to the database."""
    added = insert.result()
    bar.update(size)
    return added
