"""Sub-commands for training, evaluating and exporting emotion models."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``train``."""
    parser = subparsers.add_parser(
        "train",
        help="train an emotion model on a face data set",
        description="Train an emotion classifier on DATA (a class-folder tree, optionally with train/ and "
        "val/ split folders) and export it as a self-describing ONNX model. Every output lands in --out.",
    )
    parser.add_argument("data", type=Path, metavar="DATA", help="class-folder tree (<class>/<image>)")
    parser.add_argument("--arch", default="mood-resnet", help="architecture: mood-resnet (default) or seed-cnn")
    parser.add_argument("--epochs", type=int, default=40, help="maximum epochs (default 40)")
    parser.add_argument("--batch-size", type=int, default=128, help="images per step (default 128)")
    parser.add_argument("--lr", type=float, default=2e-3, help="peak learning rate (default 2e-3)")
    parser.add_argument(
        "--schedule", choices=["onecycle", "cosine", "plateau"], default="onecycle", help="learning-rate schedule"
    )
    parser.add_argument("--label-smoothing", type=float, default=0.1, help="label smoothing (default 0.1)")
    parser.add_argument("--mixup", type=float, default=0.0, help="mixup Beta alpha; 0 (default) turns it off")
    parser.add_argument("--class-weights", action="store_true", help="weight rare classes by inverse frequency")
    parser.add_argument("--patience", type=int, default=10, help="early-stopping patience in epochs")
    parser.add_argument(
        "--classes", default="all", help="all (7 FER2013 classes), retail4, or a list like happy,neutral,surprise"
    )
    parser.add_argument("--int8", action="store_true", help="also quantize the exported model to int8")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--threads", type=int, default=0, help="CPU threads; 0 uses all cores")
    parser.add_argument("--out", type=Path, default=Path("runs/latest"), help="output folder (default runs/latest)")
    parser.add_argument("--resume", action="store_true", help="continue an interrupted run in --out")
    parser.set_defaults(handler=_train)


def _train(args: argparse.Namespace) -> int:
    from storemood.emotions import resolve_classes
    from storemood.training.run import run_training
    from storemood.training.train import TrainConfig

    config = TrainConfig(
        arch=args.arch,
        classes=resolve_classes(args.classes),
        epochs=args.epochs,
        batch_size=args.batch_size,
        learning_rate=args.lr,
        schedule=args.schedule,
        label_smoothing=args.label_smoothing,
        mixup=args.mixup,
        class_weights=args.class_weights,
        patience=args.patience,
        seed=args.seed,
        threads=args.threads,
        data=str(args.data),
    )
    model = run_training(config, args.out, resume=args.resume, int8=args.int8)
    print(f"model: {model}")
    return 0
