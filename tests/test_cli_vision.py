"""``storemood detect``, ``run`` and ``demo`` as a user calls them: JSON shapes, image kinds, bad input."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import cv2
import numpy as np
import pytest

from storemood.cli import main
from storemood.emotions import FER7
from storemood.model_metadata import ModelInfo
from vision_fixtures import linear_model, shipped_model


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    return str(linear_model(tmp_path_factory.mktemp("model") / "fer7.onnx", ModelInfo(classes=FER7)))


def storemood(*args: str) -> subprocess.CompletedProcess:
    """Run the real command in a child process, as a user would."""
    return subprocess.run([sys.executable, "-m", "storemood", *args], capture_output=True, text=True, timeout=120)


def image_kinds(real_images, folder):
    """The same real photo as 8-bit BGR, grayscale, RGBA and 16-bit PNG files."""
    image = cv2.imread(str(real_images / "multi_face.jpg"))
    kinds = {
        "bgr.png": image,
        "gray.png": cv2.cvtColor(image, cv2.COLOR_BGR2GRAY),
        "rgba.png": cv2.cvtColor(image, cv2.COLOR_BGR2BGRA),
        "deep.png": image.astype(np.uint16) * 257,
    }
    for name, pixels in kinds.items():
        cv2.imwrite(str(folder / name), pixels)
    return [str(folder / name) for name in kinds]


def test_detect_json_shape_for_every_image_kind(tmp_path, real_images, model, capsys):
    paths = image_kinds(real_images, tmp_path)
    assert main(["detect", *paths, "--model", model, "--json"]) == 0
    results = json.loads(capsys.readouterr().out)
    assert [r["image"] for r in results] == paths
    for result in results:
        assert len(result["faces"]) == 5  # the data README: five faces
        for face in result["faces"]:
            assert len(face["box"]) == 4 and 0 < face["score"] <= 1
            assert set(face["probabilities"]) == set(FER7)
            assert face["emotion"] == max(face["probabilities"], key=face["probabilities"].get)


def test_detect_mirrors_by_default_and_no_mirror_turns_it_off(real_images, model, capsys):
    path = str(real_images / "multi_face.jpg")
    readings = {}
    for flag in ("--mirror", "--no-mirror", None):
        assert main(["detect", path, "--model", model, "--json", *([flag] if flag else [])]) == 0
        readings[flag] = [face["probabilities"] for face in json.loads(capsys.readouterr().out)[0]["faces"]]
    assert readings[None] == readings["--mirror"]
    differ = [
        abs(m[c] - p[c]) for m, p in zip(readings["--mirror"], readings["--no-mirror"], strict=True) for c in FER7
    ]
    assert max(differ) > 1e-3


def test_detect_annotate_and_text_output(tmp_path, real_images, model, capsys):
    out = tmp_path / "drawn.png"
    assert main(["detect", str(real_images / "single_face.jpg"), "--model", model, "--annotate", str(out)]) == 0
    assert "1 face(s)" in capsys.readouterr().out
    drawn, original = cv2.imread(str(out)), cv2.imread(str(real_images / "single_face.jpg"))
    assert drawn.shape == original.shape and not np.array_equal(drawn, original)


def test_detect_annotate_draws_the_cameras_zones_and_products(tmp_path, real_images, model):
    from storemood.demo import DEMO_STORE
    from storemood.pipeline.annotate import ZONE_COLOR

    out, photo = tmp_path / "zones.png", str(real_images / "single_face.jpg")
    assert main(["detect", photo, "--model", model, "--annotate", str(out), "--store", str(DEMO_STORE)]) == 0
    drawn, original = cv2.imread(str(out)), cv2.imread(photo)
    border = round(0.3328 * (drawn.shape[1] - 1))  # between the demo's cereal and coffee zones
    band = slice(border - 3, border + 4)
    white = np.all(drawn[:, band] > 225, axis=2).any(axis=1) & ~np.all(original[:, band] > 225, axis=2).any(axis=1)
    assert white.mean() > 0.5 and ZONE_COLOR == (255, 255, 255)


def test_detect_with_mtcnn_on_a_face_free_photo(real_images, model, capsys):
    path = str(real_images / "noface_landscape_1.jpg")
    assert main(["detect", path, "--model", model, "--detector", "mtcnn", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == [{"image": path, "faces": []}]


def test_run_json_shape(real_videos, model):
    done = storemood("run", str(real_videos / "single_face.mp4"), "--model", model, "--json", "--max-frames", "40")
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["frames"] == 40 and summary["skipped_frames"] == 0
    assert summary["faces"] >= 35 and summary["fps"] > 0 and summary["seconds"] > 0
    (track,) = summary["tracks"]
    assert track["frames"] >= 35 and track["dominant_emotion"] in FER7 and set(track["probabilities"]) == set(FER7)


@pytest.mark.parametrize(
    "args",
    [
        ["detect", "missing.jpg"],
        ["detect", "pyproject.toml"],
        ["run", "missing.mp4"],
        ["run", "pyproject.toml"],
        ["run", "93"],
        ["run", "http://127.0.0.1:9/live"],
        ["detect", "tests/conftest.py", "--detector", "yolo"],
        ["run", "tests/conftest.py", "--every", "0"],
        ["run", "tests/conftest.py", "--output", "annotated.txt"],
        ["run", "tests/conftest.py", "--show"],  # no display here, or no GUI in opencv-python-headless
        ["run", "tests/conftest.py", "--db", "sqlite:///x.db"],
        ["run", "tests/conftest.py", "--no-still"],
        ["detect", "tests/conftest.py", "--camera", "shelf"],
    ],
)
def test_bad_input_is_one_line_and_status_2(args):
    done = storemood(*args)
    assert done.returncode == 2
    assert len(done.stderr.strip().splitlines()) <= 2 and "Traceback" not in done.stderr  # argparse adds a hint
    assert done.stdout == ""


def test_unreadable_model_is_a_user_error(tmp_path, real_images):
    done = storemood("detect", str(real_images / "justin.jpg"), "--model", str(tmp_path / "none.onnx"))
    assert done.returncode == 2 and done.stderr.count("\n") == 1 and "does not exist" in done.stderr


@pytest.mark.slow
def test_demo_prints_what_it_saw():
    shipped_model()
    done = storemood("demo", "--json")
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["frames"] > 0 and len(summary["tracks"]) >= 3


def test_unreadable_image_is_a_user_error(model):
    done = storemood("detect", "pyproject.toml", "--model", model)
    assert done.returncode == 2 and "cannot read pyproject.toml as an image" in done.stderr
    assert done.stderr.count("\n") == 1


def signal_after_progress(child: subprocess.Popen, progress: str, signum: int) -> str:
    """Send ``signum`` once the child's progress bar matches ``progress``; its stdout once it has ended."""
    seen = ""
    while not re.search(progress, seen):  # the progress bar counts analysed frames
        seen += child.stderr.read(1) or progress  # (end of output: stop waiting)
    child.send_signal(signum)
    out, _ = child.communicate(timeout=60)
    return out


@pytest.mark.slow
def test_ctrl_c_ends_run_with_a_summary(real_videos, model):
    """SIGINT while frames are being analysed: the run stops early and still prints its JSON summary."""
    import signal

    command = [sys.executable, "-m", "storemood", "run", str(real_videos / "face_noface.mov"), "--json"]
    child = subprocess.Popen(
        [*command, "--model", model, "--detector", "mtcnn"],  # the slow detector: time to interrupt it
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    out = signal_after_progress(child, r"\b[1-9]\d*/169", signal.SIGINT)
    assert child.returncode == 0
    summary = json.loads(out)
    assert summary["interrupted"] and 0 < summary["frames"] < 169


@pytest.mark.slow
@pytest.mark.parametrize("readable", [True, False])
def test_run_with_a_store_stores_visits(tmp_path, model, readable):
    """``run SOURCE --store --camera --db`` hands the frames to the retail sinks: visits reach the database.
    With a size limit no face reaches, the same visits are stored, unread: counted, with no emotion figure."""
    from storemood.demo import DEMO_STORE
    from storemood.demo.clip import build_store_clip

    clip = build_store_clip(tmp_path / "store.avi")
    store = tmp_path / "store.yaml"
    store.write_text(DEMO_STORE.read_text())
    db = f"sqlite:///{tmp_path / 'events.db'}"
    limit = [] if readable else ["--read-min-face", "5000"]
    done = storemood(
        "run",
        str(clip.path),
        "--store",
        str(store),
        "--camera",
        "shelf",
        "--db",
        db,
        "--model",
        model,
        "--json",
        *limit,
    )
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert stored_visits(db) >= 2
    report = storemood("report", "--db", db, "--format", "json", "--by", "product", "--min-group", "1")
    rows = json.loads(report.stdout)["rows"]
    if readable:
        assert all(row["read_visits"] == row["visits"] for row in rows) and summary["classified_faces"] > 0
    else:
        assert all(row["read_visits"] == 0 and row["shares"] is None for row in rows)
        assert summary["classified_faces"] == 0 and all(t["dominant_emotion"] is None for t in summary["tracks"])


def stored_visits(db: str) -> int:
    report = storemood("report", "--db", db, "--format", "json", "--by", "product")
    return sum(row["visits"] for row in json.loads(report.stdout)["rows"])


@pytest.mark.slow
def test_sigterm_stops_a_run_and_still_stores_the_open_visits(tmp_path, model):
    """``docker stop`` or ``systemctl stop`` mid-clip: the visits still open are flushed, as on Ctrl-C."""
    import signal

    from storemood.demo import DEMO_STORE
    from storemood.demo.clip import build_store_clip

    clip = build_store_clip(tmp_path / "store.avi")  # 8 s at 15 FPS; nobody has left the shelf by frame 70
    store = tmp_path / "store.yaml"
    store.write_text(DEMO_STORE.read_text())
    db = f"sqlite:///{tmp_path / 'events.db'}"
    argv = ["run", str(clip.path), "--store", str(store), "--camera", "shelf", "--db", db, "--model", model]
    child = subprocess.Popen(
        [sys.executable, "-m", "storemood", *argv, "--detector", "mtcnn", "--json"],  # slow: time to signal it
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    out = signal_after_progress(child, r"\b(7\d|8\d)/120", signal.SIGTERM)
    assert child.returncode == 0
    summary = json.loads(out)
    assert summary["interrupted"] and summary["frames"] < 110
    assert stored_visits(db) >= 1


def _options_for(*argv: str):
    """The RunOptions ``storemood run ARGV`` would run with (parsed as the command parses them)."""
    from storemood.cli import build_parser
    from storemood.cli.vision import _flags
    from storemood.pipeline.options import run_options
    from storemood.pipeline.retail import camera_analysis

    args = build_parser().parse_args(["run", *argv])
    return run_options(camera_analysis(args.store, args.camera), _flags(args))


def test_run_flags_beat_the_layout_which_beats_the_defaults(real_videos):
    from storemood.config import EXAMPLE_STORE
    from storemood.pipeline.options import RunOptions

    clip = str(real_videos / "test.mp4")
    assert _options_for(clip) == RunOptions()  # no layout, no flags: the defaults of old
    layout = ["--store", str(EXAMPLE_STORE), "--camera", "aisle-3"]
    assert _options_for(clip, *layout).min_face == 32 != RunOptions.min_face  # the camera's detect.min_face
    assert _options_for(clip, *layout).fps == 15
    given = _options_for(clip, *layout, "--min-face", "60", "--classify-hz", "0", "--no-mirror", "--lost-s", "3")
    assert (given.min_face, given.classify_hz, given.mirror, given.lost_s) == (60, 0.0, False, 3.0)
    assert given.score_threshold == RunOptions.score_threshold  # a flag left out keeps the layout's value
    assert _options_for(clip, "--quiet").progress is False
