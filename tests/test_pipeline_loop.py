"""The frame loop on real videos: sinks, track ends, timestamps, --every, Ctrl-C and errors."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import cv2
import numpy as np
import pytest

from storemood.emotions import FER7
from storemood.model_metadata import ModelInfo
from storemood.pipeline.annotate import AnnotatedVideoWriter
from storemood.pipeline.frames import FrameResult
from storemood.pipeline.loop import FramePipeline, run_source
from storemood.pipeline.options import RunOptions
from vision_fixtures import linear_model


class RecordingSink:
    """Keeps what the loop hands it; optionally raises at a given frame."""

    def __init__(self, fail_at: int | None = None, error: type[BaseException] = RuntimeError) -> None:
        self.results: list[FrameResult] = []
        self.closed = 0
        self.fail_at, self.error = fail_at, error

    def on_frame(self, result: FrameResult) -> None:
        if self.fail_at is not None and len(self.results) == self.fail_at:
            self.fail_at = None  # once, like a real Ctrl-C
            raise self.error("stop here")
        self.results.append(result)

    def close(self) -> None:
        self.closed += 1


@pytest.fixture(scope="module")
def options(tmp_path_factory) -> RunOptions:
    model = linear_model(tmp_path_factory.mktemp("model") / "fer7.onnx", ModelInfo(classes=FER7))
    return RunOptions(model=model, progress=False, start_time=datetime(2026, 11, 22, 9, 0, tzinfo=UTC))


def test_one_face_video_gives_one_track_and_every_result_is_complete(real_videos, options):
    sink = RecordingSink()
    summary = run_source(real_videos / "single_face.mp4", options, sinks=[sink])
    assert sink.closed == 1
    assert summary.frames == 72 == summary.analysed_frames  # the data README: 72 frames
    assert len(summary.tracks) == 1 and summary.tracks[0].frames >= 65
    frames = [r for r in sink.results if r.image is not None]
    assert [r.index for r in frames] == list(range(72))
    assert all(r.shape == (360, 640) and r.classes == FER7 for r in frames)
    with_faces = [r for r in frames if len(r.faces)]
    assert all((r.faces.track_ids > 0).all() for r in with_faces)
    assert all(np.allclose(r.faces.probabilities.sum(axis=1), 1, atol=1e-4) for r in with_faces)
    assert sink.results[-1].faces.ended_tracks == (summary.tracks[0].id,)  # the closing result ends it
    assert summary.classified_faces == sum(int(r.faces.classified.sum()) for r in frames) > 0
    assert frames[0].timestamp == options.start_time and frames[1].timestamp > frames[0].timestamp


def test_classification_runs_at_the_scheduled_rate(real_videos, options):
    every_frame = run_source(real_videos / "test.mp4", RunOptions(**{**vars(options), "classify_hz": 0}))
    scheduled = run_source(real_videos / "test.mp4", options)
    assert every_frame.classified_faces == every_frame.faces
    assert scheduled.classified_faces < every_frame.classified_faces / 3


def test_every_and_max_frames(real_videos, options):
    summary = run_source(real_videos / "test.mp4", RunOptions(**{**vars(options), "every": 3, "max_frames": 60}))
    assert summary.frames == 60 and summary.analysed_frames == 20


def test_ctrl_c_ends_cleanly_with_a_summary_and_sinks_closed_once(real_videos, options):
    sink = RecordingSink(fail_at=10, error=KeyboardInterrupt)
    summary = run_source(real_videos / "single_face.mp4", options, sinks=[sink])
    assert summary.interrupted and 10 <= summary.frames < 72
    assert sink.closed == 1


def test_an_error_still_closes_every_sink(real_videos, options):
    failing, other = RecordingSink(fail_at=3), RecordingSink()
    with pytest.raises(RuntimeError):
        run_source(real_videos / "single_face.mp4", options, sinks=[other, failing])
    assert failing.closed == 1 and other.closed == 1


def test_faces_leaving_end_their_tracks(real_videos, options):
    """face_noface.mov shows a face, then none for a few seconds: its track ends while the video still runs."""
    sink = RecordingSink()
    run_source(real_videos / "face_noface.mov", replace(options, lost_s=1.0), sinks=[sink])
    ended = [(r.index, track) for r in sink.results if r.image is not None for track in r.faces.ended_tracks]
    assert ended and ended[0][0] < sink.results[-1].index


def test_annotated_output_is_a_readable_video(tmp_path, real_videos, options):
    out = tmp_path / "annotated.avi"
    pipeline = FramePipeline(options)
    run_source(real_videos / "single_face.mp4", options, sinks=[AnnotatedVideoWriter(out, 30)], pipeline=pipeline)
    capture = cv2.VideoCapture(str(out))
    assert int(capture.get(cv2.CAP_PROP_FRAME_COUNT)) == 72
    ok, frame = capture.read()
    assert ok and frame.shape == (360, 640, 3)
