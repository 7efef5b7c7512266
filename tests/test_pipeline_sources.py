"""Video sources: corrupt frames in a real clip, bad sources, real-time dropping and reconnection."""

from __future__ import annotations

import json
import threading
import time

import cv2
import numpy as np
import pytest

from storemood.errors import UserError
from storemood.pipeline import sources
from storemood.pipeline.sources import VideoSource


def real_frames(real_videos, count: int) -> list[np.ndarray]:
    capture = cv2.VideoCapture(str(real_videos / "single_face.mp4"))
    frames = [capture.read()[1] for _ in range(count)]
    capture.release()
    return frames


def write_mjpeg(path, frames, fps: float = 10.0):
    height, width = frames[0].shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, (width, height))
    for frame in frames:
        writer.write(frame)
    writer.release()
    return path


def corrupt_frames(path, which: list[int]) -> None:
    """Overwrite the start of the given Motion-JPEG frames (their JPEG headers) with zeros."""
    data = bytearray(path.read_bytes())
    starts = [i for i in range(len(data) - 2) if data[i : i + 3] == b"\xff\xd8\xff"]
    for frame in which:
        data[starts[frame] : starts[frame] + 600] = bytes(600)
    path.write_bytes(bytes(data))


def test_corrupt_frames_inside_a_video_are_skipped_and_counted(tmp_path, real_videos):
    path = write_mjpeg(tmp_path / "clip.avi", real_frames(real_videos, 30))
    corrupt_frames(path, [7, 19])
    video = VideoSource(path)
    frames = list(video.frames())
    assert video.skipped_frames == 2
    assert len(frames) == 28
    assert 7 not in [f.index for f in frames] and 19 not in [f.index for f in frames]
    assert frames[-1].index == 29


def test_file_timestamps_follow_video_time(tmp_path, real_videos):
    path = write_mjpeg(tmp_path / "clip.avi", real_frames(real_videos, 12), fps=4.0)
    frames = list(VideoSource(path).frames())
    assert [f.seconds for f in frames[:3]] == [0.0, 0.25, 0.5]
    assert all(f.timestamp.tzinfo is not None for f in frames)
    assert (frames[8].timestamp - frames[0].timestamp).total_seconds() == pytest.approx(2.0)


@pytest.mark.parametrize(
    ("spec", "reason"),
    [
        ("missing.mp4", "does not exist"),
        ("not_a_video.mp4", "cannot open"),
        ("97", "cannot open camera 97"),
        ("http://127.0.0.1:9/stream.mjpg", "cannot open http://127.0.0.1:9"),
    ],
)
def test_bad_sources_are_user_errors(tmp_path, monkeypatch, spec, reason):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "not_a_video.mp4").write_text("plain text")
    with pytest.raises(UserError, match=reason):
        VideoSource(spec, timeout_s=2)


class FakeCamera:
    """Stands in for ``cv2.VideoCapture`` of a live camera: ``frames`` frames, ``interval`` s apart."""

    def __init__(self, frames: int, interval: float = 0.0, opened: bool = True, first: int = 0) -> None:
        self.left, self.interval, self.opened, self.next = frames, interval, opened, first

    def isOpened(self) -> bool:  # OpenCV's spelling
        return self.opened

    def read(self):
        if self.left <= 0:
            return False, None
        time.sleep(self.interval)
        self.left -= 1
        self.next += 1
        return True, np.full((4, 4, 3), self.next % 256, np.uint8)

    def get(self, prop) -> float:
        return 30.0 if prop == cv2.CAP_PROP_FPS else 0.0

    def release(self) -> None:
        self.opened = False


def test_realtime_mode_drops_frames_instead_of_falling_behind(monkeypatch):
    monkeypatch.setattr(sources, "open_capture", lambda spec, timeout: FakeCamera(60, interval=0.002))
    video = VideoSource("0", max_retries=0)
    assert video.live and video.realtime
    received = []
    for frame in video.frames():
        received.append(frame.index)
        time.sleep(0.02)  # a consumer ten times slower than the camera
    assert video.dropped_frames > 20
    assert received == sorted(received) and len(received) + video.dropped_frames == 60


def test_a_dropped_stream_is_reconnected_then_given_up(monkeypatch):
    cameras = iter([FakeCamera(5), FakeCamera(5, first=100), FakeCamera(0, opened=False)])
    monkeypatch.setattr(sources, "open_capture", lambda spec, timeout: next(cameras))
    video = VideoSource("rtsp://camera/1", realtime=False, max_retries=1, retry_delay_s=0.01)
    frames = list(video.frames())
    assert len(frames) == 10 and video.reconnects == 1 and video.lost
    assert [int(f.image[0, 0, 0]) for f in frames[4:6]] == [5, 101]  # the second connection's first frame


def test_stop_ends_a_live_source_from_another_thread(monkeypatch):
    monkeypatch.setattr(sources, "open_capture", lambda spec, timeout: FakeCamera(10_000, interval=0.001))
    video = VideoSource("0")
    threading.Timer(0.2, video.stop).start()
    count = sum(1 for _ in video.frames())
    assert 0 < count < 10_000


def test_a_run_whose_camera_is_lost_exits_1_and_never_shows_the_password(monkeypatch, capsys):
    """A supervisor restarts a run that ended because its source failed; credentials stay masked."""
    from functools import partialmethod

    from storemood.cli import main

    cameras = iter([FakeCamera(5), FakeCamera(0, opened=False)])
    monkeypatch.setattr(sources, "open_capture", lambda spec, timeout: next(cameras))
    monkeypatch.setattr(VideoSource, "__init__", partialmethod(VideoSource.__init__, max_retries=1, retry_delay_s=0.01))
    status = main(["run", "rtsp://admin:hunter2@camera/1", "--json", "--quiet"])
    out, err = capsys.readouterr()
    summary = json.loads(out)
    assert status == 1 and summary["source_lost"] and summary["frames"] >= 1
    assert summary["source"] == "rtsp://admin:***@camera/1" and "rtsp://admin:***@camera/1" in err
    assert "hunter2" not in out + err


#: The best mode of :class:`ModeCamera`.
BEST_MODE = {cv2.CAP_PROP_FPS: 30.0, cv2.CAP_PROP_FRAME_WIDTH: 1280.0, cv2.CAP_PROP_FRAME_HEIGHT: 720.0}


class ModeCamera(FakeCamera):
    """A webcam that takes the frame rate and size asked for, up to 30 fps and 1280x720 (its best mode)."""

    def __init__(self) -> None:
        super().__init__(1)
        self.mode = {cv2.CAP_PROP_FPS: 30.0, cv2.CAP_PROP_FRAME_WIDTH: 640.0, cv2.CAP_PROP_FRAME_HEIGHT: 480.0}

    def set(self, prop, value: float) -> bool:
        self.mode[prop] = min(value, BEST_MODE[prop])
        return True

    def get(self, prop) -> float:
        return self.mode.get(prop, 0.0)


def test_a_webcam_is_asked_for_the_layouts_rate_and_size(monkeypatch, caplog):
    camera = ModeCamera()
    monkeypatch.setattr(sources, "open_capture", lambda spec, timeout: camera)
    VideoSource("0", fps=15, resolution=(1280, 720)).close()
    assert camera.mode == {cv2.CAP_PROP_FPS: 15.0, cv2.CAP_PROP_FRAME_WIDTH: 1280.0, cv2.CAP_PROP_FRAME_HEIGHT: 720.0}
    assert "asked for" not in caplog.text
    camera.opened = True
    VideoSource("0", resolution=(1920, 1080)).close()  # more than the camera has: it runs with its best mode
    assert "delivers 1280x720 at 15 fps, not the 1920x1080 asked for" in caplog.text


def test_a_video_file_plays_at_its_own_rate_and_says_so(tmp_path, real_videos, caplog):
    clip = write_mjpeg(tmp_path / "clip.avi", real_frames(real_videos, 3), fps=10.0)
    video = VideoSource(clip, fps=25)
    assert video.fps == 10.0 and len(list(video.frames())) == 3
    assert "at 10 fps, not the 25 fps asked for" in caplog.text
