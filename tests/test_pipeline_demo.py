"""The demo clip (real packaged photos) and the demo run."""

from __future__ import annotations

import cv2
import pytest

from storemood.config import load_store
from storemood.demo import DEMO_STORE
from storemood.demo.clip import CLIP_SIZE, SHOPPERS, build_store_clip, demo_shelf
from storemood.demo.run import format_summary, run_demo, run_demo_pipeline
from storemood.emotions import FER7
from storemood.model_metadata import ModelInfo
from storemood.pipeline.options import RunOptions
from storemood.pipeline.zones import ZoneMapper
from storemood.vision.detectors import create_detector
from vision_fixtures import linear_model, shipped_model


def test_every_packaged_photo_has_the_face_the_clip_relies_on():
    detector = create_detector()
    for shopper in SHOPPERS:
        faces = detector.detect(shopper.load())
        assert len(faces) == 1, shopper.name
        x, y, width, height = shopper.face_box
        assert abs(faces.boxes[0, 0] - x) < width * 0.2 and abs(faces.boxes[0, 1] - y) < height * 0.2


def test_the_drawn_shelf_is_the_demo_layouts_zones():
    """Every drawn section lies in the zone of its own product: the shelf is defined once, in store.yaml."""
    zones = load_store(DEMO_STORE).cameras[0].zones
    mapper, product_of = ZoneMapper(zones), {zone.id: zone.product.sku for zone in zones}
    width = CLIP_SIZE[0]
    shelf = demo_shelf(width)
    assert [section.product for section in shelf] == [zone.product.sku for zone in zones]
    assert shelf[0].x0 == 0 and shelf[-1].x1 == width
    for section in shelf:
        for x in (section.x0 + 1, (section.x0 + section.x1) / 2, section.x1 - 1):
            assert product_of[mapper.zone_at((x / width, 0.5))] == section.product


def test_clip_has_every_shopper_tracked(tmp_path):
    clip = build_store_clip(tmp_path / "store.avi")
    capture = cv2.VideoCapture(str(clip.path))
    assert int(capture.get(cv2.CAP_PROP_FRAME_COUNT)) == clip.frames
    model = linear_model(tmp_path / "m.onnx", ModelInfo(classes=FER7))
    summary = run_demo_pipeline(clip, RunOptions(model=model, progress=False))
    assert summary.frames == clip.frames
    assert len(summary.tracks) == len(SHOPPERS)  # one track each; fragments shorter than min_track_s not listed
    assert all(track.seconds >= RunOptions.min_track_s for track in summary.tracks)
    text = format_summary(summary, clip)
    assert all(shopper.name in text for shopper in SHOPPERS)


@pytest.mark.slow
def test_demo_runs_with_the_shipped_model():
    shipped_model()
    summary, _ = run_demo(RunOptions(progress=False))
    assert len(summary.tracks) >= len(SHOPPERS)
    first = summary.tracks[0].to_dict(summary.classes)  # the astronaut enters first, smiling
    assert first["dominant_emotion"] == "happy"
