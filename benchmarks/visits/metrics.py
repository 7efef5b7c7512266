"""Scores of a tracker's output against a clip's truth: the CLEAR-MOT and ID metrics, and the retail ones.

* MOT (``motmetrics``): a tracked box matches a truth face box when their IoU is at least 0.5. MOTA, IDF1,
  identity switches and fragmentations (a truth trajectory going from tracked to untracked and back).
* Tracks per person: distinct track ids the tracker gave out, over the people in the clip.
* Visits per zone: counted against the truth; the count error sums |counted - truth| over every clip and zone.
* Dwell error per visit: each truth visit is paired with the counted visit of the same zone that overlaps it
  longest in time (each counted visit used once); the error is ``|counted - truth| / truth`` dwell. A truth
  visit with no overlapping counted visit is missing from the counts and has no dwell error. Because most
  visits in a benchmark are easy, the median hides the hard ones: the share of truth visits whose dwell is off
  by more than 10% (or that have no counted visit at all) shows them.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

import motmetrics as mm
import numpy as np

from visits.truth import Truth, Visit

#: IoU a tracked box needs with a truth box to count as the same face (the usual MOT threshold).
MIN_IOU = 0.5
MOT_METRICS = ["mota", "idf1", "num_switches", "num_fragmentations"]
#: A visit's dwell counts as right within this relative error (the issue's target for the median).
DWELL_TOLERANCE = 0.1

#: One frame of tracker output: ``(track_id, x, y, w, h)`` per face.
TrackedFrame = Sequence[tuple[int, float, float, float, float]]


def iou_distances(truth: np.ndarray, tracked: np.ndarray) -> np.ndarray:
    """``1 - IoU`` of every truth box (rows) with every tracked box (columns), NaN (no match) below MIN_IOU.

    The same as ``motmetrics.distances.iou_matrix``, which motmetrics 1.4 cannot run under NumPy 2.
    """
    top_left = np.maximum(truth[:, np.newaxis, :2], tracked[np.newaxis, :, :2])
    bottom_right = np.minimum(
        truth[:, np.newaxis, :2] + truth[:, np.newaxis, 2:], tracked[np.newaxis, :, :2] + tracked[np.newaxis, :, 2:]
    )
    overlap = np.prod(np.clip(bottom_right - top_left, 0, None), axis=2)
    union = np.prod(truth[:, 2:], axis=1)[:, np.newaxis] + np.prod(tracked[:, 2:], axis=1)[np.newaxis] - overlap
    iou = overlap / np.maximum(union, 1e-9)
    return np.where(iou >= MIN_IOU, 1 - iou, np.nan)


def mot_accumulator(truth: Truth, tracked: Sequence[TrackedFrame]) -> mm.MOTAccumulator:
    """Feed every frame's truth boxes and tracked boxes to a motmetrics accumulator."""
    accumulator = mm.MOTAccumulator(auto_id=False)
    for frame, truth_boxes in enumerate(truth.boxes):
        hypotheses = tracked[frame] if frame < len(tracked) else []
        distances = iou_distances(
            np.array([box[1:] for box in truth_boxes], float).reshape(-1, 4),
            np.array([box[1:] for box in hypotheses], float).reshape(-1, 4),
        )
        accumulator.update([box[0] for box in truth_boxes], [box[0] for box in hypotheses], distances, frameid=frame)
    return accumulator


def mot_summary(accumulators: Sequence[mm.MOTAccumulator]) -> dict[str, float]:
    """MOTA, IDF1, identity switches and fragmentations over several clips together."""
    summary = mm.metrics.create().compute_many(
        list(accumulators), metrics=MOT_METRICS, names=[str(i) for i in range(len(accumulators))], generate_overall=True
    )
    return {name: float(summary.loc["OVERALL", name]) for name in MOT_METRICS}


def track_count(tracked: Sequence[TrackedFrame]) -> int:
    """Distinct track ids in a tracker's output."""
    return len({face[0] for frame in tracked for face in frame})


def dwell_errors(truth_visits: Sequence[Visit], counted: Sequence[Visit], fps: float) -> list[float]:
    """Relative dwell error of each truth visit paired (same zone, longest overlap) with a counted visit."""
    pairs = []
    for i, real in enumerate(truth_visits):
        for j, found in enumerate(counted):
            overlap = min(real.end, found.end) - max(real.start, found.start)
            if found.zone == real.zone and overlap >= 0:
                pairs.append((overlap, i, j))
    used_truth, used_counted, errors = set(), set(), []
    for _, i, j in sorted(pairs, reverse=True):
        if i in used_truth or j in used_counted:
            continue
        used_truth.add(i)
        used_counted.add(j)
        real_dwell = truth_visits[i].dwell(fps)
        errors.append(abs(counted[j].dwell(fps) - real_dwell) / real_dwell)
    return errors


@dataclass
class VisitScore:
    """Visit counts per zone and per-visit dwell errors, summed over clips."""

    truth: Counter = field(default_factory=Counter)
    counted: Counter = field(default_factory=Counter)
    errors: list[float] = field(default_factory=list)
    clips: int = 0
    exact_clips: int = 0
    miscounted: int = 0  # sum over clips and zones of |counted - truth|

    def add(self, truth: Truth, counted: Sequence[Visit]) -> None:
        truth_zones, counted_zones = Counter(v.zone for v in truth.visits), Counter(v.zone for v in counted)
        self.truth.update(truth_zones)
        self.counted.update(counted_zones)
        self.miscounted += sum(abs(counted_zones[z] - truth_zones[z]) for z in set(truth_zones) | set(counted_zones))
        self.errors += dwell_errors(truth.visits, counted, truth.fps)
        self.clips += 1
        self.exact_clips += truth_zones == counted_zones

    @property
    def count_error(self) -> float:
        """|counted - truth| summed over clips and zones, over the truth visits: errors of two clips never cancel."""
        total = sum(self.truth.values())
        return self.miscounted / total if total else math.nan

    @property
    def median_dwell_error(self) -> float:
        return float(np.median(self.errors)) if self.errors else math.nan

    @property
    def dwell_off(self) -> float:
        """Share of truth visits with a dwell error over :data:`DWELL_TOLERANCE` or no counted visit."""
        total = sum(self.truth.values())
        good = sum(error <= DWELL_TOLERANCE for error in self.errors)
        return (total - good) / total if total else math.nan
