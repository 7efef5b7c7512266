"""``storemood detect``, ``storemood run`` and ``storemood demo``: the live half of the product.

Handlers only parse, call a package function and print; the vision and pipeline modules (OpenCV,
ONNX Runtime, LiteRT) are imported inside them so ``storemood --help`` stays instant.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from storemood.cli.arguments import (
    angle,
    non_negative_float,
    positive_float,
    positive_int,
    probability,
    utc_time,
)
from storemood.defaults import DETECTOR_NAMES
from storemood.errors import EXIT_FAILURE, UserError
from storemood.pipeline.options import RunOptions

#: Flags that become RunOptions fields of the same name; a flag not given (None) leaves the layout's value.
OPTION_FLAGS = (
    "model",
    "detector",
    "min_face",
    "score_threshold",
    "threads",
    "mirror",
    "every",
    "max_frames",
    "classify_hz",
    "max_yaw",
    "max_pitch",
    "read_min_face",
    "half_life",
    "lost_s",
    "min_track_s",
    "realtime",
    "start_time",
)


def _default(value: object, key: str | None = None) -> str:
    """Help text for a default; ``key`` names the store.yaml key that sets it for a camera of ``--store``."""
    return f"(default: {value})" if key is None else f"(default: {key} of the --store layout, else {value})"


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``detect``, ``run`` and ``demo``."""
    _register_detect(subparsers)
    _register_run(subparsers)
    _register_demo(subparsers)


def _add_model_options(parser: argparse.ArgumentParser, layout: bool) -> None:
    """Options shared by every command that detects and classifies faces; with ``layout`` the help names the
    store.yaml keys (``detect``, ``classify``) that set them for a camera."""

    def key(name: str) -> str | None:
        return name if layout else None

    parser.add_argument(
        "--model",
        type=Path,
        help=f"ONNX emotion model with storemood metadata {_default('the shipped model', key('classify.model'))}",
    )
    parser.add_argument(
        "--detector",
        choices=DETECTOR_NAMES,
        help="face detector: blazeface (fast, faces from about 48 px) or mtcnn (9-17x slower, "
        f"finds smaller faces) {_default(RunOptions.detector, key('detect.detector'))}",
    )
    parser.add_argument(
        "--min-face",
        type=positive_int,
        metavar="PX",
        help=f"ignore faces smaller than this {_default(RunOptions.min_face, key('detect.min_face'))}",
    )
    parser.add_argument(
        "--score-threshold",
        type=probability,
        metavar="S",
        help="ignore detections with a lower detector score, 0..1 "
        + _default(RunOptions.score_threshold, key("detect.score_threshold")),
    )
    parser.add_argument(
        "--threads",
        type=positive_int,
        metavar="N",
        help=f"CPU threads for the models {_default(RunOptions.threads)}",
    )
    parser.add_argument(
        "--mirror",
        action=argparse.BooleanOptionalAction,
        help="test-time mirroring: average each face's reading with its mirror image's, as the model card's "
        "accuracy is measured; --no-mirror halves the model work " + _default("on", key("classify.mirror")),
    )


def _register_detect(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "detect",
        help="find faces in images and read their expressions",
        description="Find the faces in each image and classify each face's expression. Grayscale, RGBA "
        "and 16-bit images work.",
    )
    parser.add_argument("images", nargs="+", type=Path, metavar="IMAGE", help="image files (JPEG, PNG, ...)")
    _add_model_options(parser, layout=False)
    parser.add_argument("--json", action="store_true", help="print one JSON list on stdout and nothing else")
    parser.add_argument(
        "--annotate",
        type=Path,
        metavar="OUT",
        help="also write each image with boxes and labels drawn: OUT is the file for a single image "
        "(e.g. out.png), otherwise a folder that gets <name>.annotated.png per image",
    )
    parser.add_argument(
        "--store",
        type=Path,
        metavar="PATH",
        help="store layout (store.yaml): analyse as its camera does, and with --annotate draw the camera's "
        "zones and products",
    )
    parser.add_argument("--camera", metavar="ID", help="which camera of --store took the images")
    parser.set_defaults(handler=detect)


def _register_run(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "run",
        help="run the live pipeline on a video file, webcam or stream",
        description="Detect, track and classify faces in a video, then (with --store) map them to shelf zones "
        "and store one anonymous event per visit. Ctrl-C ends the run cleanly with a summary.",
    )
    parser.add_argument(
        "source",
        nargs="?",
        metavar="SOURCE",
        help="video file, webcam index (0) or rtsp:// / http(s):// URL; leave it out with --store to run "
        "every camera of the store",
    )
    parser.add_argument(
        "--store", type=Path, metavar="PATH", help="store layout (store.yaml): cameras, zones, products, brands"
    )
    parser.add_argument(
        "--camera", metavar="ID", help="which camera of --store SOURCE is (needed when the store has several)"
    )
    parser.add_argument(
        "--db", metavar="URL", help="database for visit events (default: SQLite in the user's data directory)"
    )
    parser.add_argument(
        "--publish",
        metavar="mqtt://HOST[:PORT]/PREFIX",
        help="also publish every visit to this MQTT broker under PREFIX/visits/<store>/<camera> (QoS 1; "
        "store.yaml: publish.mqtt)",
    )
    parser.add_argument(
        "--webhook",
        metavar="URL",
        help="also POST every visit as JSON to this URL, signed with $STOREMOOD_WEBHOOK_SECRET when set "
        "(store.yaml: publish.webhook)",
    )
    parser.add_argument(
        "--still",
        action=argparse.BooleanOptionalAction,
        help="with --store: write each camera's still (the per-pixel median of frames taken over minutes, "
        "face regions left out) to the database for the dashboard; --no-still writes none "
        "(default: still.enabled of the --store layout, else on)",
    )
    parser.add_argument(
        "--output",
        type=Path,
        metavar="VIDEO",
        help="write an annotated copy (.mp4 or .avi) with boxes, ids, labels, zones and products",
    )
    parser.add_argument("--show", action="store_true", help="show the annotated frames in a window (needs a display)")
    parser.add_argument(
        "--every", type=positive_int, metavar="N", help=f"analyse every N-th frame only {_default(RunOptions.every)}"
    )
    parser.add_argument("--max-frames", type=positive_int, metavar="N", help="stop after reading N frames")
    parser.add_argument(
        "--classify-hz",
        type=non_negative_float,
        metavar="HZ",
        help="re-read each tracked face's expression this often per second; new faces are read at once; "
        f"0 reads every face on every frame {_default(f'{RunOptions.classify_hz:g}', 'classify.hz')}",
    )
    parser.add_argument(
        "--max-yaw",
        type=angle,
        metavar="DEG",
        help="read only faces turned at most this many degrees left or right of the camera; the others count in "
        f"visits and dwell, not in emotion figures {_default(f'{RunOptions.max_yaw:g}', 'classify.max_yaw')}",
    )
    parser.add_argument(
        "--max-pitch",
        type=angle,
        metavar="DEG",
        help="read only faces tilted at most this many degrees up or down "
        + _default(f"{RunOptions.max_pitch:g}", "classify.max_pitch"),
    )
    parser.add_argument(
        "--read-min-face",
        type=positive_float,
        metavar="PX",
        help="read only faces with at least this side in pixels (smaller ones are tracked, not read) "
        + _default(f"{RunOptions.read_min_face:g}", "classify.read_min_face"),
    )
    parser.add_argument(
        "--half-life",
        type=non_negative_float,
        metavar="S",
        help="smoothing half-life of each track's probabilities in seconds; 0 turns smoothing off "
        + _default(f"{RunOptions.half_life:g}"),
    )
    parser.add_argument(
        "--lost-s",
        type=positive_float,
        metavar="S",
        help="seconds a face may go unseen (turned to the shelf, hidden) before its track ends "
        + _default(f"{RunOptions.lost_s:g}", "track.lost_s"),
    )
    parser.add_argument(
        "--min-track-s",
        type=non_negative_float,
        metavar="S",
        help="tracks followed for less than this many seconds are not listed as shoppers "
        + _default(f"{RunOptions.min_track_s:g}", "track.min_track_s"),
    )
    parser.add_argument(
        "--realtime",
        action=argparse.BooleanOptionalAction,
        help="drop frames rather than fall behind (default: on for webcams and streams, off for files)",
    )
    parser.add_argument(
        "--start-time",
        type=utc_time,
        metavar="ISO",
        help="UTC time of a video file's first frame, e.g. 2026-11-22T09:00:00 (default: now)",
    )
    _add_model_options(parser, layout=True)
    parser.add_argument("--json", action="store_true", help="print one JSON summary object on stdout")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.set_defaults(handler=run)


def _register_demo(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "demo",
        help="run the whole pipeline on a store clip built from photos that ship with the installed packages",
        description="Builds a short clip of real faces (photos bundled with scikit-image and matplotlib) "
        "walking past a shelf, runs detection, tracking and expression reading on it with the shipped "
        "model, and prints what it saw. Needs no network and no files of your own.",
    )
    parser.add_argument("--model", type=Path, help="ONNX emotion model (default: the shipped model)")
    parser.add_argument("--output", type=Path, metavar="VIDEO", help="also write the annotated clip (.mp4 or .avi)")
    parser.add_argument("--json", action="store_true", help="print the run summary as one JSON object")
    parser.add_argument(
        "--db",
        metavar="URL",
        help="database for the demo's visit events (default: your SQLite file, where the "
        "previous demo's events are replaced and no others touched)",
    )
    parser.set_defaults(handler=demo)


def detect(args: argparse.Namespace) -> int:
    """Handler of ``storemood detect``."""
    from storemood.pipeline.annotate import annotated_targets, write_annotated_images
    from storemood.pipeline.options import run_options
    from storemood.pipeline.retail import camera_analysis, camera_zones
    from storemood.vision.classifier import EmotionClassifier
    from storemood.vision.detectors import create_detector
    from storemood.vision.stills import analyse_image, check_images_exist

    if args.store is None and args.camera:
        raise UserError("--camera needs --store (the layout the camera belongs to)")
    options = run_options(camera_analysis(args.store, args.camera), _flags(args))
    check_images_exist(args.images)
    targets = annotated_targets(args.images, args.annotate) if args.annotate else []
    classifier = EmotionClassifier(options.model, threads=options.threads, mirror=options.mirror)
    detector = create_detector(options.detector, options.min_face, options.score_threshold, options.threads)
    results = [analyse_image(path, detector, classifier) for path in args.images]
    if args.annotate:
        write_annotated_images(results, targets, camera_zones(args.store, args.camera))
    if args.json:
        print(json.dumps([result.to_dict() for result in results]))
    else:
        for result in results:
            print(result.describe())
    return 0


def _flags(args: argparse.Namespace) -> dict:
    """The RunOptions fields given on the command line (None where a flag was left out)."""
    flags = {name: getattr(args, name, None) for name in OPTION_FLAGS}
    return {**flags, "progress": False if getattr(args, "quiet", False) else None}


def run(args: argparse.Namespace) -> int:
    """Handler of ``storemood run``."""
    if args.source is None:
        return _run_store(args)
    if args.store is None and (args.camera or args.db or args.publish or args.webhook or args.still is not None):
        raise UserError(
            "--camera, --db, --publish, --webhook and --still need --store (the layout that maps faces to zones)"
        )
    from storemood.pipeline.loop import run_source
    from storemood.pipeline.options import run_options
    from storemood.pipeline.retail import build_sinks, camera_analysis

    options = run_options(camera_analysis(args.store, args.camera), _flags(args))
    sinks = [
        *_view_sinks(args, options),
        *build_sinks(args.store, args.camera, args.db, _publish(args), still=args.still),
    ]
    summary = run_source(args.source, options, sinks=sinks)
    print(json.dumps({**summary.to_dict(), **_visits_of(sinks)}) if args.json else _describe_run(summary, sinks))
    if summary.source_lost:  # a supervisor (systemd, Docker) should restart the run
        print(f"storemood run: error: lost {summary.source} and could not reconnect", file=sys.stderr)
        return EXIT_FAILURE
    return 0


def _visits_of(sinks) -> dict:
    """The visit sink's count and delivery state, for ``run --json`` (nothing without a store layout)."""
    from storemood.pipeline.retail import VisitSink

    visit_sinks = [sink for sink in sinks if isinstance(sink, VisitSink)]
    return {"visits": visit_sinks[0].visits, "delivery": visit_sinks[0].delivery} if visit_sinks else {}


def _describe_run(summary, sinks) -> str:
    from storemood.pipeline.retail import describe_delivery

    stored = _visits_of(sinks)
    lines = [summary.describe()]
    if stored:
        lines.append(describe_delivery(stored["visits"], stored["delivery"]))
    return "\n".join(lines)


def _run_store(args: argparse.Namespace) -> int:
    """Every camera of ``--store`` at once (``run`` without SOURCE)."""
    if args.store is None:
        raise UserError("give a SOURCE (video file, webcam index or URL), or --store to run a store's cameras")
    if args.camera or args.output or args.show:
        raise UserError("--camera, --output and --show need a SOURCE; without one every camera of the store runs")
    from storemood.pipeline.retail import run_store

    cameras = run_store(args.store, args.db, _flags(args), _publish(args), still=args.still)
    print(json.dumps({"cameras": cameras}) if args.json else _describe_cameras(cameras))
    return 0


def _publish(args: argparse.Namespace):
    """The layout's MQTT broker and webhook with ``--publish``/``--webhook`` over them (None: as the layout)."""
    if not (args.publish or args.webhook):
        return None
    from storemood.config import load_store
    from storemood.delivery.destinations import WebhookDestination, parse_mqtt_url

    if args.publish:
        parse_mqtt_url(args.publish)  # a bad URL is the user's error, named before anything starts
    if args.webhook:
        WebhookDestination(args.webhook)
    return load_store(args.store).publish.merged(mqtt=args.publish, webhook=args.webhook)


def _describe_cameras(cameras: dict[str, dict]) -> str:
    from storemood.pipeline.retail import describe_delivery

    lines = []
    for camera, summary in cameras.items():
        if "error" in summary:
            lines.append(f"camera {camera}: failed: {summary['error']}")
        else:
            lines.append(
                f"camera {camera}: {summary['frames']} frames, {summary['faces']} faces, {len(summary['tracks'])} "
                f"tracks, {describe_delivery(summary.get('visits', 0), summary.get('delivery', {}))}"
            )
    return "\n".join(lines)


def _view_sinks(args: argparse.Namespace, options: RunOptions) -> list:
    """The annotated-output sinks the user asked for (none by default: no pixels are written), with the
    camera's zones drawn when there is a ``--store`` layout."""
    from storemood.pipeline.annotate import AnnotatedVideoWriter, WindowSink
    from storemood.pipeline.retail import camera_zones

    if not (args.output or args.show):
        return []
    zones = camera_zones(args.store, args.camera)
    sinks: list = []
    if args.output:
        sinks.append(AnnotatedVideoWriter(args.output, fps=_source_fps(args.source) / options.every, zones=zones))
    if args.show:
        sinks.append(WindowSink(zones))
    return sinks


def _source_fps(source: str) -> float:
    from storemood.pipeline.sources import VideoSource

    if not Path(source).is_file():
        return 25.0
    video = VideoSource(source)
    try:
        return video.fps
    finally:
        video.close()


def demo(args: argparse.Namespace) -> int:
    """Handler of ``storemood demo``."""
    from storemood.demo import DEMO_STORE
    from storemood.demo.clip import CLIP_FPS
    from storemood.demo.run import demo_report, demo_sinks, format_summary, run_demo
    from storemood.pipeline.annotate import AnnotatedVideoWriter
    from storemood.pipeline.retail import camera_zones

    sinks = [AnnotatedVideoWriter(args.output, CLIP_FPS, camera_zones(DEMO_STORE, None))] if args.output else []
    summary, clip = run_demo(RunOptions(model=args.model, progress=not args.json), sinks=[*sinks, *demo_sinks(args.db)])
    print(json.dumps(summary.to_dict()) if args.json else format_summary(summary, clip))
    if not args.json:
        from rich.console import Console

        Console().print(demo_report(args.db))
    return 0
