"""The labelled visits benchmark (benchmarks/visits): a deterministic generator with consistent truth, metrics
that give known values on a hand-built case, and a generated clip whose visits storemood must count exactly."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter

import cv2
import numpy as np
import pytest

from conftest import REAL, require
from visits.generate import BACKGROUNDS, CAMERA, generate_clip
from visits.metrics import VisitScore, dwell_errors, mot_accumulator, mot_summary, track_count
from visits.people import PORTRAITS
from visits.scenes import SITUATIONS, build_scene
from visits.truth import Truth, Visit, visits_from_observations, zone_at

IMAGES = REAL / "images"


def frames_of(video) -> np.ndarray:
    capture = cv2.VideoCapture(str(video))
    frames = []
    while (frame := capture.read()[1]) is not None:
        frames.append(frame)
    capture.release()
    return np.stack(frames)


@pytest.fixture(scope="module")
def store_clip(tmp_path_factory):
    """The "store" situation (four shoppers, turns, a sign, a passer-by), seed 1."""
    return generate_clip("store", 1, tmp_path_factory.mktemp("store"), require(IMAGES))


def test_a_seed_makes_the_same_clip_and_truth(tmp_path):
    first = generate_clip("crossing", 5, tmp_path / "a", require(IMAGES))
    second = generate_clip("crossing", 5, tmp_path / "b", IMAGES)
    assert first.truth == second.truth
    assert np.array_equal(frames_of(first.video), frames_of(second.video))
    scripts = [build_scene("crossing", seed, sorted(PORTRAITS), BACKGROUNDS).shoppers for seed in (5, 6)]
    assert [shopper.poses for shopper in scripts[0]] != [shopper.poses for shopper in scripts[1]]


def test_truth_boxes_lie_in_the_frame_and_ids_are_stable(store_clip):
    truth = store_clip.truth
    assert truth.frames == len(frames_of(store_clip.video)) and 10 <= truth.frames / truth.fps <= 25
    last_box: dict[int, list[float]] = {}
    for frame, boxes in enumerate(truth.boxes):
        assert len({box[0] for box in boxes}) == len(boxes)
        for person, x, y, w, h in boxes:
            assert 1 <= person <= truth.persons
            assert x >= 0 and y >= 0 and x + w <= truth.width and y + h <= truth.height and w > 0 and h > 0
            assert person in truth.zones[frame]  # a visible face belongs to a present person
            if person in last_box and last_box[person][0] == frame - 1:  # a person moves a little between frames
                assert abs(x - last_box[person][1]) < w / 2 and abs(y - last_box[person][2]) < h / 2
            last_box[person] = [frame, x, y]
    assert {box[0] for boxes in truth.boxes for box in boxes} == set(range(1, truth.persons + 1))


def test_truth_zones_follow_positions_and_visits_follow_zones(store_clip):
    truth = store_clip.truth
    for frame, boxes in enumerate(truth.boxes):
        for person, x, y, w, h in boxes:
            if w == h:  # not clipped by the frame edge, so the box centre is the face centre
                assert truth.zones[frame][person] == zone_at((x + w / 2) / truth.width, (y + h / 2) / truth.height)
    assert truth.visits, "the store situation has shoppers stopping at shelves"
    for visit in truth.visits:
        stretch = [truth.zones[f].get(visit.track) for f in range(visit.start, visit.end + 1)]
        assert set(stretch) == {visit.zone} and visit.dwell(truth.fps) >= truth.min_dwell_s
        seen = [f for f in range(visit.start, visit.end + 1) if any(b[0] == visit.track for b in truth.boxes[f])]
        assert seen, "every visit shows the shopper's face at some point"
    hidden = sum(1 for f, zones in enumerate(truth.zones) for p in zones if all(b[0] != p for b in truth.boxes[f]))
    assert hidden > truth.fps, "shoppers turn away or are hidden for more than a second in all"


def test_every_situation_has_a_scene():
    for situation in SITUATIONS:
        scene = build_scene(situation, 0, sorted(PORTRAITS), BACKGROUNDS)
        assert 10 <= scene.seconds <= 25 and scene.shoppers
        assert len({shopper.portrait for shopper in scene.shoppers}) == len(scene.shoppers)


def test_metrics_on_a_hand_built_case():
    """Two people, four frames: one frame person 2 is missed, then person 1's track id changes."""
    a, b = [0.0, 0.0, 50.0, 50.0], [200.0, 0.0, 50.0, 50.0]
    truth = Truth("hand", 0, 10.0, 640, 480, 2, 1.0, boxes=[[[1, *a], [2, *b]]] * 4)
    tracked = [[(10, *a), (20, *b)], [(10, *a), (20, *b)], [(10, *a)], [(11, *a), (20, *b)]]
    scores = mot_summary([mot_accumulator(truth, tracked)])
    assert scores["mota"] == pytest.approx(1 - (1 + 1) / 8)  # one miss, one switch, eight truth boxes
    assert scores["idf1"] == pytest.approx(2 * 6 / (2 * 6 + 1 + 2))  # 6 id-true positives, 1 false, 2 missed
    assert scores["num_switches"] == 1 and scores["num_fragmentations"] == 1
    assert track_count(tracked) == 3


def test_a_split_visit_counts_twice_and_its_dwell_error_is_the_longer_part():
    truth = Truth("hand", 0, 10.0, 640, 480, 1, 1.0, visits=[Visit(1, "shelf-left", 0, 30)])
    counted = [Visit(5, "shelf-left", 0, 15), Visit(6, "shelf-left", 18, 30), Visit(6, "shelf-right", 31, 50)]
    assert dwell_errors(truth.visits, counted, 10.0) == [pytest.approx(0.5)]
    score = VisitScore()
    score.add(truth, counted)
    assert score.count_error == pytest.approx(2.0) and score.exact_clips == 0
    assert score.median_dwell_error == pytest.approx(0.5)


def test_the_visit_rule_ignores_a_flicker_shorter_than_the_inertia():
    seen = [(f, "a") for f in range(21)] + [(21, "b")] + [(f, "a") for f in range(22, 41)]
    seen += [(f, None) for f in range(41, 60)]
    assert visits_from_observations({7: seen}, 10.0, 1.0, inertia=3) == [Visit(7, "a", 0, 40)]
    assert visits_from_observations({7: seen}, 10.0, 1.0, inertia=1) == [Visit(7, "a", 0, 20), Visit(7, "a", 22, 40)]


def storemood(*args: str) -> str:
    done = subprocess.run([sys.executable, "-m", "storemood", *args], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.mark.slow
@pytest.mark.parametrize(
    ("situation", "seed", "people"),
    [
        ("simple", 2, 2),  # two shoppers, one stop each
        ("turn-away", 2, 2),  # each turns away from the camera, one of them for over 4 s
    ],
)
def test_storemood_counts_the_visits_of_a_generated_clip_exactly(tmp_path, situation, seed, people):
    """``report --by zone --format json`` must give the true visits per zone."""
    clip = generate_clip(situation, seed, tmp_path / "clip", require(IMAGES))
    assert clip.truth.persons == people
    url = f"sqlite:///{tmp_path / 'visits.db'}"
    storemood("run", str(clip.video), "--store", str(clip.store), "--camera", CAMERA, "--db", url, "--quiet")
    report = json.loads(storemood("report", "--by", "zone", "--format", "json", "--db", url))
    counted = {row["zone"]: row["visits"] for row in report["rows"] if row["visits"]}
    assert counted == dict(Counter(visit.zone for visit in clip.truth.visits))
