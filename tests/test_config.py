"""store.yaml validation: the shipped examples load; every kind of mistake is one line naming line and key."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from storemood.config import EXAMPLE_STORE, load_store
from storemood.demo import DEMO_STORE
from storemood.errors import UserError

EXAMPLE = EXAMPLE_STORE.read_text(encoding="utf-8")


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "store.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def _line_of(text: str, needle: str) -> int:
    """The last line holding ``needle`` (a duplicate is reported where it repeats)."""
    return max(number for number, line in enumerate(text.splitlines(), 1) if needle in line)


def test_shipped_examples_load_with_every_zone_owned_by_a_brand():
    for path in (EXAMPLE_STORE, DEMO_STORE):
        layout = load_store(path)
        zones = [zone for camera in layout.cameras for zone in camera.zones]
        assert zones and all(zone.product.brand for zone in zones)
        assert len({zone.id for zone in zones}) == len(zones)


@pytest.mark.parametrize(
    ("old", "new", "needle", "message"),
    [
        ("inertia: 5", "inertia: 5\n        colour: red", "colour: red", r"zones\[0\]\.colour: unknown key 'colour'"),
        (", brand: Sunfield}", "}", "Honey Flakes", r"product\.brand: required key 'brand' is missing"),
        ("[0.5, 0.1, 0.5, 0.9]", "[0.6, 0.1, 0.5, 0.9]", "[0.6, 0.1", r"rect: zone lies outside the frame"),
        ("[0.0, 1.0]]", "[0.0, 1.2]]", "[0.0, 1.2]]", r"points\[3\]\[1\]: Input should be less than or equal to 1"),
        ("id: endcap-1", "id: aisle-3", "id: aisle-3", r"cameras\[1\]\.id: duplicate camera id 'aisle-3'"),
        ("id: promo-table", "id: cereal-left", "id: cereal-left", r"duplicate zone id 'cereal-left'"),
        ("fps: 15", "fps: 15\n    fps: 10", "fps: 10", r"duplicate key 'fps'"),
        ("min_dwell_s: 1.0", "min_dwel_s: 1.0", "min_dwel_s", r"settings\.min_dwel_s: unknown key"),
    ],
)
def test_mistakes_are_one_line_naming_the_line_and_key(tmp_path, old, new, needle, message):
    assert old in EXAMPLE
    text = EXAMPLE.replace(old, new, 1)
    path = _write(tmp_path, text)
    with pytest.raises(UserError) as caught:
        load_store(path)
    reason = str(caught.value)
    assert "\n" not in reason
    assert re.search(message, reason), reason
    assert f"line {_line_of(text, needle)}:" in reason


def test_a_zone_needs_exactly_one_shape(tmp_path):
    text = EXAMPLE.replace(
        "rect: [0.0, 0.1, 0.5, 0.9]", "rect: [0.0, 0.1, 0.5, 0.9]\n        points: [[0, 0], [1, 0], [1, 1]]"
    )
    with pytest.raises(UserError, match="exactly one of 'rect' or 'points'"):
        load_store(_write(tmp_path, text))


def test_not_yaml_and_missing_file_are_user_errors(tmp_path):
    with pytest.raises(UserError, match="line 2: not valid YAML"):
        load_store(_write(tmp_path, "id: x\n  cameras: [\n"))
    with pytest.raises(UserError, match="not found"):
        load_store(tmp_path / "nope.yaml")


def test_relative_file_sources_resolve_beside_the_yaml(tmp_path):
    (tmp_path / "clip.mp4").write_bytes(b"")
    layout = load_store(_write(tmp_path, EXAMPLE.replace("source: rtsp://192.0.2.10/stream1", "source: clip.mp4")))
    assert layout.camera("aisle-3").source == str((tmp_path / "clip.mp4").resolve())
    assert layout.camera("endcap-1").source == "0"  # webcam indices stay as they are


def test_unknown_camera_names_the_known_ones():
    with pytest.raises(UserError, match=r"unknown camera 'aisle-9'.*aisle-3, endcap-1"):
        load_store(EXAMPLE_STORE).camera("aisle-9")
