"""The product's default settings, each written once: the face detectors and how a camera is analysed when
store.yaml and the command line say nothing, when a visit counts as engaged, and how figures are estimated
and shown (minimum sample, minimum group size, emotion-share method).

``config`` (store.yaml), ``pipeline.options.RunOptions``, the command line's help, the tracker and the
analytics read them from here. Standard library only, so the command line can show them instantly.

>>> DETECTOR in DETECTOR_NAMES
True
"""

from __future__ import annotations

from typing import Literal, get_args

#: The face detectors storemood ships (``storemood.vision.detectors.DETECTORS`` implements each).
DetectorName = Literal["blazeface", "mtcnn"]
DETECTOR_NAMES: tuple[str, ...] = get_args(DetectorName)

#: store.yaml ``detect``: the detector, the smallest face side (pixels), the smallest detector score.
DETECTOR: DetectorName = "blazeface"
MIN_FACE = 40
SCORE_THRESHOLD = 0.5
#: store.yaml ``track``: seconds a face may go unseen (turned to the shelf, hidden) before its track ends
#: (long enough for a head turn: the visits benchmark's turns last up to 4 s); the largest matching cost
#: (centre distance in face sizes plus the log of the size change) that continues a track seen on the previous
#: frame; the smallest detector score that may continue, never start, a track (ByteTrack's second stage); and
#: how long a track must be followed to be listed as a shopper in the run summary.
LOST_S = 5.0
MATCH_GATE = 1.0
CANDIDATE_THRESHOLD = 0.4
MIN_TRACK_S = 0.5
#: store.yaml ``classify``: re-readings per second of each tracked face, and test-time mirroring.
CLASSIFY_HZ = 5.0
MIRROR = True
#: store.yaml ``classify``: only faces turned at most this far from the camera (degrees of yaw and pitch,
#: estimated from the landmarks) and at least this large (pixels; the shipped model loses 1.3 points of
#: accuracy at 32 px and 4.5 at 24, benchmarks/bench_readability.py) are read; the others count in visits
#: and dwell but add no emotion reading.
MAX_YAW = 30.0
MAX_PITCH = 30.0
READ_MIN_FACE = 32

#: store.yaml ``settings.engagement_dwell_s``: a visit at least this long counts as engaged.
ENGAGEMENT_DWELL_S = 3.0

#: store.yaml ``settings.min_visits``: groups with fewer visits are greyed and never ranked.
MIN_VISITS = 20
#: store.yaml ``settings.min_group`` (k): groups with fewer visits show no figure at all.
MIN_GROUP = 5
#: store.yaml ``settings.shares``: how a group's emotion shares are estimated (docs/statistics.md); the
#: default is the method with the lowest error in benchmarks/quantification.py.
SharesMethod = Literal["count", "calibrated", "adjusted"]
SHARES_METHODS: tuple[str, ...] = get_args(SharesMethod)
SHARES_METHOD: SharesMethod = "adjusted"

#: store.yaml ``still``: each camera's still (the per-pixel median of frames kept over time, so it shows the
#: shelf and no shopper): keep a frame every ``STILL_SAMPLE_S`` seconds, the newest ``STILL_FRAMES`` of them
#: at most ``STILL_MAX_WIDTH`` px wide, and write their median every ``STILL_EVERY_S`` seconds and at the end
#: of a run, never from fewer than ``STILL_MIN_FRAMES`` frames.
STILL_ENABLED = True
STILL_SAMPLE_S = 15.0
STILL_FRAMES = 20
STILL_EVERY_S = 300.0
STILL_MIN_FRAMES = 5
STILL_MAX_WIDTH = 640

#: Seconds between two heartbeats of a running camera (frame rate, dropped frames, reconnects, faces).
HEARTBEAT_S = 10.0
#: A camera whose last heartbeat is older than this is "stale" (two heartbeats missed, and some slack) ...
CAMERA_STALE_AFTER_S = 3 * HEARTBEAT_S
#: ... and "down" once it is older than this.
CAMERA_DOWN_AFTER_S = 300.0
