"""The Python API: storemood.analyze, stream and visits, and the supervision adapters, on real photos."""

from __future__ import annotations

import json
import subprocess
import sys

import cv2
import numpy as np
import pytest
from PIL import Image

import storemood
from storemood.errors import UserError
from storemood.interop import from_detections, to_detections


def test_analyze_takes_a_path_an_array_or_a_pil_image_and_answers_like_detect(real_images):
    path = real_images / "multi_face.jpg"
    from_path = storemood.analyze(path)
    from_array = storemood.analyze(cv2.imread(str(path)))
    from_pil = storemood.analyze(Image.open(path))
    assert len(from_path) == 5 and from_path == from_array
    assert [face["emotion"] for face in from_pil] == [face["emotion"] for face in from_path]
    cli = subprocess.run([sys.executable, "-m", "storemood", "detect", str(path), "--json"], capture_output=True)
    detected = json.loads(cli.stdout)[0]["faces"]
    assert [(f["box"], f["probabilities"]) for f in detected] == [(f["box"], f["probabilities"]) for f in from_path]
    face = from_path[0]
    assert set(face) >= {"box", "score", "landmarks", "probabilities", "emotion"} and len(face["landmarks"]) == 6
    assert face["emotion"] == max(face["probabilities"], key=face["probabilities"].get)


def test_analyze_mirrors_by_default_and_options_override(real_images):
    image = cv2.imread(str(real_images / "single_face.jpg"))
    mirrored, plain = storemood.analyze(image), storemood.analyze(image, mirror=False)
    assert mirrored[0]["box"] == plain[0]["box"] and mirrored[0]["probabilities"] != plain[0]["probabilities"]
    assert storemood.analyze(image, score_threshold=1.0) == []


@pytest.mark.parametrize(
    ("image", "message"),
    [("no/such/photo.jpg", "does not exist"), (np.zeros((0, 0, 3), np.uint8), "expected an image"), (42, "not int")],
)
def test_analyze_refuses_what_is_not_an_image(image, message):
    with pytest.raises(UserError, match=message):
        storemood.analyze(image)
    with pytest.raises(UserError, match="unknown option 'classify_hz' for an image"):
        storemood.analyze(np.zeros((20, 20, 3), np.uint8), classify_hz=2)


class _Collector:
    def __init__(self) -> None:
        self.results, self.closed = [], 0

    def on_frame(self, result) -> None:
        self.results.append(result)

    def close(self) -> None:
        self.closed += 1


def test_stream_yields_tracked_frames_and_feeds_sinks(real_videos):
    sink = _Collector()
    results = list(storemood.stream(real_videos / "single_face.mp4", sinks=[sink], every=2))
    assert results == sink.results and sink.closed == 1
    assert [r.index for r in results[:-1]] == list(range(0, 72, 2))  # every second frame of 72
    tracked = {int(i) for r in results for i in r.faces.track_ids}
    assert tracked and -1 not in tracked
    assert results[-1].faces.ended_tracks  # the closing result ends the open tracks


def test_visits_reads_rows_and_a_dataframe(tmp_path):
    from storemood.demo.run import demo_sinks, run_demo
    from storemood.pipeline.options import RunOptions

    url = f"sqlite:///{tmp_path / 'demo.db'}"
    run_demo(RunOptions(progress=False), demo_sinks(url))
    rows = storemood.visits(url)
    assert rows and all(row["store"] == "demo" and row["dwell_s"] > 0 for row in rows)
    assert all(abs(sum(row["probabilities"].values()) - 1) < 1e-3 for row in rows)
    frame = storemood.visits(url, as_frame=True)
    assert len(frame) == len(rows) and "probabilities.happy" in frame.columns
    assert storemood.visits(url, products=["no-such-product"]) == []
    with pytest.raises(UserError, match="no database"):
        storemood.visits(f"sqlite:///{tmp_path / 'missing.db'}")


def test_supervision_round_trip_and_annotation(real_images):
    supervision = pytest.importorskip("supervision", reason="the supervision extra is not installed")
    image = cv2.imread(str(real_images / "multi_face.jpg"))
    from storemood.vision.detectors import create_detector

    faces = create_detector().detect(image)
    faces = faces.with_(track_ids=np.arange(1, len(faces) + 1), probabilities=np.eye(7, dtype=np.float32)[: len(faces)])
    detections = to_detections(faces)
    assert detections.tracker_id.tolist() == [1, 2, 3, 4, 5] and detections.class_id.tolist() == [0, 1, 2, 3, 4]
    back = from_detections(detections)
    assert np.allclose(back.boxes, faces.boxes) and np.array_equal(back.track_ids, faces.track_ids)
    assert np.array_equal(back.probabilities, faces.probabilities) and back.landmarks.shape == faces.landmarks.shape
    drawn = supervision.BoxAnnotator().annotate(image.copy(), detections)
    assert (drawn != image).any()
