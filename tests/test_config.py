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


STORE_LEVEL = {
    "detect": "detect:\n  detector: mtcnn\n  min_face: 24\n  score_threshold: 0.7\n",
    "track": "track:\n  lost_s: 2.0\n  match_gate: 1.5\n  candidate_threshold: 0.3\n  min_track_s: 1.0\n",
    "classify": "classify:\n  hz: 1.0\n  mirror: false\n  model: custom.onnx\n",
}
#: One field of each block set on camera "aisle-3" (the other fields must keep the store's values).
CAMERA_LEVEL = {"detect": "min_face: 48", "track": "match_gate: 0.8", "classify": "hz: 0.5"}


def _layout_with_blocks(tmp_path: Path) -> Path:
    """The example with store-level blocks that differ from the defaults, and one camera overriding one
    field of each."""
    text = re.sub(
        r"\ndetect:.*?\n\ncameras:", "\n" + "\n".join(STORE_LEVEL.values()) + "\ncameras:", EXAMPLE, flags=re.S
    )
    own = "".join(f"    {block}:\n      {field}\n" for block, field in CAMERA_LEVEL.items())
    text = re.sub(r"(    fps: 15[^\n]*\n)    detect:\n      min_face: 32[^\n]*\n[^\n]*\n", r"\1" + own, text)
    text = re.sub(r"    classify:\n      hz: 2\.0[^\n]*\n", "", text)  # endcap-1 keeps every store value
    return _write(tmp_path, text)


def test_the_example_documents_every_analysis_key():
    from storemood.config import ClassifySettings, DetectSettings, TrackSettings

    for block, model in (("detect", DetectSettings), ("track", TrackSettings), ("classify", ClassifySettings)):
        section = EXAMPLE.split(f"\n{block}:", 1)[1].split("\n\n", 1)[0]
        for key in model.model_fields:
            assert re.search(rf"^\s+#?\s*{key}:", section, re.M), f"{block}.{key} is not in the example"


@pytest.mark.parametrize("block", ["detect", "track", "classify"])
def test_a_camera_block_overrides_the_store_field_by_field(tmp_path, block):
    layout = load_store(_layout_with_blocks(tmp_path))
    store, camera = getattr(layout, block), getattr(layout.analysis("aisle-3"), block)
    field, value = (part.strip() for part in CAMERA_LEVEL[block].split(":"))
    assert str(getattr(camera, field)) == value != str(getattr(store, field))
    assert camera.model_dump(exclude={field}) == store.model_dump(exclude={field})
    assert getattr(layout.analysis("endcap-1"), block) == store  # a camera without the block keeps the store's


def test_store_blocks_beat_the_defaults_and_models_resolve_beside_the_yaml(tmp_path):
    from storemood.pipeline.options import RunOptions, run_options

    options = run_options(load_store(_layout_with_blocks(tmp_path)).analysis("endcap-1"))
    defaults = RunOptions()
    expected = {"detector": "mtcnn", "min_face": 24, "score_threshold": 0.7, "lost_s": 2.0, "match_gate": 1.5}
    expected |= {"candidate_threshold": 0.3, "min_track_s": 1.0}
    expected |= {"classify_hz": 1.0, "mirror": False, "model": (tmp_path / "custom.onnx").resolve()}
    for name, value in expected.items():
        assert getattr(options, name) == value != getattr(defaults, name), name
    assert run_options(load_store(EXAMPLE_STORE).analysis("aisle-3")).fps == 15


def test_an_unknown_detector_or_key_in_a_camera_block_names_its_line(tmp_path):
    text = EXAMPLE.replace("      min_face: 32", "      min_face: 32\n      detector: yolo")
    with pytest.raises(UserError, match=rf"line {_line_of(text, 'detector: yolo')}: cameras\[0\]\.detect\.detector"):
        load_store(_write(tmp_path, text))
    text = EXAMPLE.replace("hz: 2.0", "hertz: 2.0")
    with pytest.raises(UserError, match=rf"line {_line_of(text, 'hertz')}: .*classify\.hertz: unknown key"):
        load_store(_write(tmp_path, text))
