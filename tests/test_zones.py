"""ZoneMapper: point-in-zone geometry and inertia on entering and leaving."""

from __future__ import annotations

import numpy as np

from storemood.config import Product, Zone
from storemood.pipeline.zones import ZoneMapper

PRODUCT = Product(sku="A", brand="Acme")
LEFT = Zone(id="left", rect=(0.0, 0.0, 0.5, 1.0), inertia=3, product=PRODUCT)
TRIANGLE = Zone(id="tri", points=[(0.6, 0.1), (0.95, 0.1), (0.6, 0.9)], inertia=1, product=PRODUCT)


def _walk(mapper: ZoneMapper, track: int, xs: list[float]) -> list[str | None]:
    return [mapper.update([track], np.array([[x, 0.5]]))[track] for x in xs]


def test_points_fall_in_rectangles_and_polygons():
    mapper = ZoneMapper([LEFT, TRIANGLE])
    assert mapper.zone_at((0.25, 0.5)) == "left"
    assert mapper.zone_at((0.65, 0.2)) == "tri"
    assert mapper.zone_at((0.9, 0.8)) is None  # inside the triangle's bounding box, outside the triangle
    assert mapper.zone_at((0.55, 0.5)) is None


def test_entering_takes_inertia_frames_and_a_passer_by_never_counts():
    mapper = ZoneMapper([LEFT])
    assert _walk(mapper, 1, [0.2, 0.2, 0.2, 0.2]) == [None, None, "left", "left"]
    assert _walk(mapper, 2, [0.2, 0.2, 0.8, 0.8]) == [None, None, None, None]


def test_leaving_takes_inertia_frames_so_border_jitter_does_not_split_a_visit():
    mapper = ZoneMapper([LEFT])
    _walk(mapper, 1, [0.2] * 3)
    jitter = [0.49, 0.51, 0.49, 0.51, 0.52, 0.49]
    assert _walk(mapper, 1, jitter) == ["left"] * len(jitter)
    assert _walk(mapper, 1, [0.8, 0.8, 0.8]) == ["left", "left", None]


def test_tracks_are_independent_and_forgotten_when_they_end():
    mapper = ZoneMapper([LEFT, TRIANGLE])
    for _ in range(3):
        zones = mapper.update([1, 2], np.array([[0.2, 0.5], [0.7, 0.3]]))
    assert zones == {1: "left", 2: "tri"}
    mapper.forget([1])
    assert mapper.update([1], np.array([[0.2, 0.5]])) == {1: None}  # starts over after it ended
