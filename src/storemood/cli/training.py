"""Sub-commands for looking at data, training, evaluating and exporting emotion models."""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from storemood.cli.arguments import (
    factor,
    fraction,
    non_negative_float,
    non_negative_int,
    output_format,
    positive_float,
    positive_int,
    probability,
)

CHECKPOINT_SUFFIXES = frozenset({".pt", ".pth"})
DATA_HELP = (
    "face data: a class-folder tree (<class>/<image>, optionally under train/ val/ test/), a FER2013-style "
    "CSV (emotion,pixels[,Usage]) or a folder of X_train.npy/Y_train.npy arrays (see docs/training.md)"
)


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``data-info``, ``train``, ``evaluate`` and ``export-onnx``."""
    _register_data_info(subparsers)
    _register_train(subparsers)
    _register_evaluate(subparsers)
    _register_export(subparsers)


def _add_data_options(parser: argparse.ArgumentParser, classes_default: str | None, classes_help: str) -> None:
    """DATA, --classes and --labels: how every command here chooses its faces and their labels."""
    parser.add_argument("data", type=Path, metavar="DATA", help=DATA_HELP)
    parser.add_argument("--classes", default=classes_default, help=classes_help)
    parser.add_argument(
        "--labels",
        type=Path,
        metavar="FERPLUS_CSV",
        help="take labels from FER+ votes (majority vote) instead of the data's own; its file column is the "
        "image path relative to DATA's parent folder; unknown and not-a-face images are dropped",
    )


def _register_data_info(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "data-info",
        help="count faces per class and split, and draw sample faces",
        description="Show how many faces DATA holds per class and split (as it would be read for training) "
        "and, with --out, save a PNG grid of random sample faces per class.",
    )
    _add_data_options(parser, "all", "classes to count: all (default), retail4, or a list like happy,sad")
    parser.add_argument("--out", type=Path, metavar="GRID_PNG", help="also save a grid of sample faces here")
    parser.add_argument(
        "--per-class", type=positive_int, default=10, help="sample faces per class in the grid (default 10)"
    )
    parser.add_argument(
        "--seed", type=non_negative_int, default=0, help="seed for picking the sample faces (default 0)"
    )
    parser.set_defaults(handler=_data_info)


GRID_SUFFIXES = {"png": (".png",), "jpeg": (".jpg", ".jpeg"), "svg": (".svg",), "pdf": (".pdf",)}
"""What ``data-info --out`` may end in (image types matplotlib writes)."""


def _data_info(args: argparse.Namespace) -> int:
    from rich.console import Console

    from storemood.data.loaders import read_labelled
    from storemood.data.summary import counts_table, sample_grid
    from storemood.emotions import resolve_classes

    output_format(None, args.out, GRID_SUFFIXES, "png")  # a bad --out is refused before the faces are read
    splits = read_labelled(args.data, resolve_classes(args.classes), 48, args.labels)
    Console().print(counts_table(splits, title=f"faces in {args.data}"))
    if args.out:
        print(f"sample grid: {sample_grid(splits, args.out, args.per_class, args.seed)}")
    return 0


def _register_train(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "train",
        help="train an emotion model on a face data set",
        description="Train an emotion classifier on DATA and export it as a self-describing ONNX model. "
        "Split folders, a CSV's Usage column or X_val.npy are used as validation; otherwise a seeded stratified "
        "72/14/14 split applies. Every output (checkpoints, log, curves, confusion matrix, evaluation.json, "
        "report.md, model.onnx) lands in --out.",
    )
    _add_data_options(parser, "all", "all (7 FER2013 classes, default), retail4, or a list like happy,neutral,surprise")
    parser.add_argument(
        "--soft-labels", action="store_true", help="with --labels: train on the FER+ vote distributions"
    )
    parser.add_argument(
        "--ferplus-blend",
        type=probability,
        default=0.0,
        metavar="W",
        help="mix this share (0-1) of the FER+ vote distribution from FER_PLUS_CSV into each training face's own "
        "label; validation keeps the data's labels (default 0: off)",
    )
    parser.add_argument("--ferplus", type=Path, metavar="FER_PLUS_CSV", help="FER+ votes file for --ferplus-blend")
    parser.add_argument(
        "--precision",
        choices=["auto", "bf16", "fp32"],
        default="auto",
        help="training arithmetic: bf16 mixed precision (about 2.6x faster on CPUs with AMX), fp32, or auto "
        "(bf16 where the CPU has native bf16, default)",
    )
    parser.add_argument(
        "--arch",
        default="mood-ensemble",
        help="architecture: mood-ensemble (two narrow mood-resnets trained side by side and averaged: the "
        "shipped model's, default), mood-resnet (one full-width network), mood-narrow (one ensemble member: "
        "the size of a distilled student), seed-cnn (the notebooks' VGG-style CNN), "
        "teacher-vgg (a large VGG-style network) or teacher-wrn (a wide residual network): teachers for distillation",
    )
    parser.add_argument("--epochs", type=positive_int, default=40, help="maximum epochs (default 40)")
    parser.add_argument("--batch-size", type=positive_int, default=128, help="images per step (default 128)")
    parser.add_argument("--lr", type=positive_float, default=2e-3, help="peak learning rate (default 2e-3)")
    parser.add_argument(
        "--optimizer",
        choices=["adamw", "sgd"],
        default="adamw",
        help="adamw (default) or sgd (Nesterov momentum 0.9)",
    )
    parser.add_argument(
        "--schedule",
        choices=["onecycle", "cosine", "plateau"],
        default="onecycle",
        help="learning-rate schedule; plateau lowers it when the --holdout accuracy stalls",
    )
    parser.add_argument(
        "--holdout",
        type=fraction,
        default=0.0,
        metavar="SHARE",
        help="hold out this share (e.g. 0.1) of the training split, stratified and seeded, to drive the plateau "
        "schedule (validation never does); default 0: none",
    )
    parser.add_argument(
        "--plateau-factor", type=factor, default=0.75, help="plateau: learning-rate multiplier (default 0.75)"
    )
    parser.add_argument(
        "--plateau-patience",
        type=non_negative_int,
        default=5,
        help="plateau: epochs without a better holdout accuracy before lowering the rate (default 5)",
    )
    parser.add_argument(
        "--weight-decay",
        type=non_negative_float,
        default=5e-4,
        help="weight decay on conv and linear weights: AdamW's decoupled decay, SGD's L2 (default 5e-4)",
    )
    parser.add_argument(
        "--ema",
        type=fraction,
        default=0.0,
        metavar="DECAY",
        help="keep a moving average of the weights with this per-step decay (e.g. 0.999) and validate and "
        "export it instead of the trained weights; 0 (default) turns it off",
    )
    parser.add_argument("--label-smoothing", type=fraction, default=0.1, help="label smoothing (default 0.1)")
    parser.add_argument(
        "--mixup", type=non_negative_float, default=0.0, help="mixup Beta alpha; 0 (default) turns it off"
    )
    parser.add_argument("--class-weights", action="store_true", help="weight rare classes by inverse frequency")
    parser.add_argument("--patience", type=positive_int, default=10, help="early-stopping patience in epochs")
    parser.add_argument(
        "--distill",
        nargs="+",
        type=Path,
        metavar="TEACHER",
        help="learn from these teachers' averaged soft outputs on the same augmented views (knowledge "
        "distillation), beside the labels: training checkpoints (e.g. teachers/teacher-vgg/best.pt) or "
        "exported models (e.g. src/storemood/models/storemood-emotion.onnx)",
    )
    parser.add_argument(
        "--temperature",
        type=positive_float,
        default=3.0,
        help="--distill: softening of teacher and student outputs (default 3)",
    )
    parser.add_argument(
        "--hard-weight",
        type=probability,
        default=0.1,
        metavar="W",
        help="--distill: weight of the labels' cross-entropy; the teachers' soft targets get 1 - W (default 0.1)",
    )
    parser.add_argument("--int8", action="store_true", help="also quantize the exported model to int8")
    parser.add_argument("--seed", type=non_negative_int, default=0, help="random seed (default 0)")
    parser.add_argument("--threads", type=non_negative_int, default=0, help="CPU threads; 0 uses all cores")
    parser.add_argument("--out", type=Path, default=Path("runs/latest"), help="output folder (default runs/latest)")
    parser.add_argument("--resume", action="store_true", help="continue an interrupted run in --out")
    parser.add_argument(
        "--time-limit",
        type=non_negative_float,
        default=0.0,
        metavar="MINUTES",
        help="stop after the epoch that passes this many minutes, checkpoints written (--resume continues); "
        "default 0: no limit",
    )
    parser.set_defaults(handler=_train)


def _train(args: argparse.Namespace) -> int:
    from storemood.emotions import resolve_classes
    from storemood.errors import UserError
    from storemood.training.config import TrainConfig
    from storemood.training.distill import load_teachers
    from storemood.training.models import require_architecture
    from storemood.training.run import run_training
    from storemood.training.train import resolve_precision

    if args.soft_labels and not args.labels:
        raise UserError("--soft-labels needs --labels (a FER+ votes file)")
    if args.schedule == "plateau" and not args.holdout:
        raise UserError("--schedule plateau needs --holdout (e.g. 0.1): a slice of the training split drives it")
    if args.out.exists() and not args.out.is_dir():
        raise UserError(f"--out {args.out} is a file; training writes a folder of outputs there")
    if args.ferplus_blend and not args.ferplus:
        raise UserError("--ferplus-blend needs --ferplus (a FER+ votes file)")
    # Checked before the training images are read (half a minute for FER2013), not after.
    require_architecture(args.arch)
    for option, path in (
        ("--labels", args.labels),
        ("--ferplus", args.ferplus),
        *(("--distill", t) for t in args.distill or ()),
    ):
        if path is not None and not path.exists():
            raise UserError(f"{option}: {path} does not exist")
    config = TrainConfig(
        arch=args.arch,
        classes=resolve_classes(args.classes),
        epochs=args.epochs,
        batch_size=args.batch_size,
        learning_rate=args.lr,
        weight_decay=args.weight_decay,
        optimizer=args.optimizer,
        ema_decay=args.ema,
        schedule=args.schedule,
        holdout=args.holdout,
        plateau_factor=args.plateau_factor,
        plateau_patience=args.plateau_patience,
        time_limit=args.time_limit,
        label_smoothing=args.label_smoothing,
        mixup=args.mixup,
        class_weights=args.class_weights,
        patience=args.patience,
        seed=args.seed,
        threads=args.threads,
        data=str(args.data),
        labels=str(args.labels or ""),
        soft_labels=args.soft_labels,
        ferplus_blend=args.ferplus_blend,
        ferplus=str(args.ferplus or ""),
        precision=resolve_precision(args.precision),
        teachers=tuple(str(path) for path in args.distill or ()),
        temperature=args.temperature,
        hard_weight=args.hard_weight,
    )
    load_teachers(config.teachers, config.classes, config.size)  # a wrong teacher fails now, not after loading
    model = run_training(config, args.out, resume=args.resume, int8=args.int8)
    print(f"model: {model}\nreport: {model.parent / 'report.md'}")
    return 0


def _register_evaluate(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "evaluate",
        help="measure a model's accuracy, macro-F1 and confusion matrix on labelled faces",
        description="Evaluate an emotion model (ONNX, or a training checkpoint .pt) on DATA: accuracy, macro-F1, "
        "per-class precision/recall/F1 and the confusion matrix. Uses DATA's validation split, else its test "
        "split, else all of it, unless --split says otherwise.",
    )
    _add_data_options(
        parser,
        None,
        "evaluate on these classes only (e.g. retail4): faces of other classes are left out and the model's "
        "output is restricted to these (default: the model's own classes)",
    )
    parser.add_argument("--model", type=Path, help="ONNX model or training checkpoint (default: the shipped model)")
    parser.add_argument(
        "--split",
        choices=["train", "val", "test", "all"],
        help="which part of DATA: train, val, test, or all (data without splits); default: val, else test, else all",
    )
    parser.add_argument("--tta", action="store_true", help="average each face's output with its mirror image's")
    parser.add_argument("--threads", type=non_negative_int, default=0, help="CPU threads; 0 uses all cores")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of tables")
    parser.set_defaults(handler=_evaluate)


def _open_predictor(model: Path | None, tta: bool, threads: int):
    """The model at ``model`` (the shipped one when None): ONNX, or a training checkpoint (needs PyTorch)."""
    from storemood.errors import UserError
    from storemood.evaluation import OnnxPredictor
    from storemood.paths import DEFAULT_MODEL

    path = model if model is not None else DEFAULT_MODEL
    if path.suffix.lower() not in CHECKPOINT_SUFFIXES:
        return OnnxPredictor(path, tta, threads)
    try:
        from storemood.training.evaluate import CheckpointPredictor
    except ImportError as error:
        raise UserError(f"evaluating checkpoint {path} needs PyTorch (pip install 'storemood[train]')") from error
    return CheckpointPredictor(path, tta, threads)


def _evaluate(args: argparse.Namespace) -> int:
    from storemood.emotions import resolve_classes
    from storemood.evaluation import evaluate_model, print_report

    started = time.perf_counter()
    classes = resolve_classes(args.classes) if args.classes else None
    predictor = _open_predictor(args.model, args.tta, args.threads)
    report = evaluate_model(predictor, args.data, classes, args.labels, split=args.split)
    report["seconds"] = round(time.perf_counter() - started, 3)  # the whole command, model loading included
    if args.json:
        print(json.dumps(report))
    else:
        print_report(report)
    return 0


def _register_export(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "export-onnx",
        help="export a training checkpoint as a self-describing ONNX model",
        description="Write CHECKPOINT's model as ONNX (NHWC pixels/255 in, probabilities out, class names and input "
        "size in its metadata), optionally quantized to int8 with calibration on real faces.",
    )
    parser.add_argument("checkpoint", type=Path, metavar="CHECKPOINT", help="training checkpoint (best.pt, last.pt)")
    parser.add_argument("out", type=Path, metavar="OUT.onnx", help="where to write the ONNX model")
    parser.add_argument("--int8", action="store_true", help="quantize to int8 (about 3x faster on a CPU)")
    parser.add_argument(
        "--calibration",
        type=Path,
        metavar="DATA",
        help="faces to calibrate int8 on (any DATA layout; its training split is used); default: the data the "
        "checkpoint was trained on",
    )
    parser.set_defaults(handler=_export)


def _export(args: argparse.Namespace) -> int:
    from storemood.training.run import export_checkpoint

    print(f"model: {export_checkpoint(args.checkpoint, args.out, args.int8, args.calibration)}")
    return 0
