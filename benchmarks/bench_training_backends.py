"""Training speed of Keras 3's TensorFlow, JAX and PyTorch backends next to plain PyTorch, on this CPU.

Why: storemood trains in plain PyTorch rather than Keras (which the notebooks it grows out of used); this
measures whether that choice still holds, for both architectures (``seed-cnn`` and ``mood-resnet``), and
what bf16 mixed precision (``storemood train --precision bf16``) gains on CPUs with native bf16 (AMX).

How: each case runs in its own subprocess (Keras picks its backend once per process, from
``KERAS_BACKEND``). Keras builds layer-for-layer equivalents of storemood's two networks (same filters,
strides, batch norm, activations, dropout, in-model normalisation) and trains with ``train_on_batch``
(compiled step; AdamW, cross-entropy on logits with label smoothing 0.1, the same as storemood). After a
warm-up of a few batches (compilation), a fixed number of batches is timed, and the rate is extrapolated
to one FER2013 epoch (28,709 faces). The peers, in the same run: storemood's own PyTorch training step
(channels-last; no augmentation, like the Keras steps) and its whole training loop ``train_epoch``
(augmentation included). Input faces are seeded random 48x48 pixels: speed does not depend on content.
All cases run in rounds (``--repeats``) and each case's fastest round counts, since on a shared machine
other work only ever slows a run down.

TensorFlow is not a storemood dependency; point ``--tf-python`` at a throwaway virtualenv that has
``tensorflow-cpu`` and ``keras`` (the case is skipped, and said so, without it):

    python3 -m venv /tmp/tfvenv && /tmp/tfvenv/bin/pip install tensorflow-cpu keras
    nice -n 10 .venv/bin/python benchmarks/bench_training_backends.py --tf-python /tmp/tfvenv/bin/python
    .venv/bin/python benchmarks/bench_training_backends.py --pytorch-only   # fp32 against bf16 only
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from functools import partial
from pathlib import Path

import numpy as np

EPOCH_FACES = 28_709  # FER2013's training split
ARCHS = ("seed-cnn", "mood-resnet")
CLASSES = 7


def faces_and_targets(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Seeded random uint8 faces ``(n, 48, 48)`` and one-hot targets ``(n, 7)``."""
    rng = np.random.default_rng(seed)
    faces = rng.integers(0, 256, (n, 48, 48), dtype=np.uint8)
    return faces, np.eye(CLASSES, dtype=np.float32)[rng.integers(0, CLASSES, n)]


class Stopwatch:
    """Wall-clock and CPU time (all threads) since creation.

    On a busy machine wall-clock rates depend on what else runs; images per CPU-second (all of this
    process's threads) hardly do, so both are reported."""

    def __init__(self) -> None:
        self.wall, self.cpu = time.perf_counter(), time.process_time()

    def rates(self, images: int) -> dict:
        wall, cpu = time.perf_counter() - self.wall, time.process_time() - self.cpu
        return {"images_per_second": images / wall, "images_per_cpu_second": images / cpu}


# --- Keras equivalents of storemood.training.models (this part must run without storemood installed) ---


def keras_seed_cnn(keras, base: int = 32, dropout: float = 0.4):
    """storemood's seed-cnn in Keras: 4 blocks of two conv-BN-ELU, max pooling, dropout; dense head."""
    layers = keras.layers
    x = inputs = keras.Input((48, 48, 1))
    x = layers.Rescaling(4.0, offset=-2.0)(x)  # (p - 0.5) / 0.25, as storemood's Normalize
    for block in range(4):
        for _ in range(2):
            x = layers.Conv2D(base * 2**block, 3, padding="same", use_bias=False, kernel_initializer="he_normal")(x)
            x = layers.BatchNormalization()(x)
            x = layers.ELU()(x)
        x = layers.Dropout(dropout)(layers.MaxPooling2D(2)(x))
    x = layers.Dense(128, use_bias=False, kernel_initializer="he_normal")(layers.Flatten()(x))
    x = layers.Dropout(0.6)(layers.ELU()(layers.BatchNormalization()(x)))
    return keras.Model(inputs, layers.Dense(CLASSES)(x))


def keras_conv_bn(keras, x, filters: int, stride: int = 1, activate: bool = True):
    layers = keras.layers
    x = layers.Conv2D(filters, 3, stride, padding="same", use_bias=False, kernel_initializer="he_normal")(x)
    x = layers.BatchNormalization()(x)
    return layers.ReLU()(x) if activate else x


def keras_mood_resnet(keras, widths: tuple[int, ...] = (64, 128, 256)):
    """storemood's mood-resnet in Keras: stride-2 stem, one residual block per stage, global pooling."""
    layers = keras.layers
    x = inputs = keras.Input((48, 48, 1))
    x = layers.Rescaling(4.0, offset=-2.0)(x)
    x = keras_conv_bn(keras, keras_conv_bn(keras, x, 32), widths[0], stride=2)
    for stage, width in enumerate(widths):
        if stage:
            x = keras_conv_bn(keras, x, width, stride=2)
        body = keras_conv_bn(keras, keras_conv_bn(keras, x, width), width, activate=False)
        x = layers.ReLU()(layers.Add()([x, body]))
    x = layers.Dropout(0.3)(layers.GlobalAveragePooling2D()(x))
    return keras.Model(inputs, layers.Dense(CLASSES)(x))


def time_keras(arch: str, batches: int, batch_size: int, warmup: int) -> dict:
    """Images per second of Keras ``train_on_batch`` on the backend named by ``KERAS_BACKEND``."""
    import keras

    model = (keras_seed_cnn if arch == "seed-cnn" else keras_mood_resnet)(keras)
    model.compile(
        optimizer=keras.optimizers.AdamW(2e-3, weight_decay=5e-4),
        loss=keras.losses.CategoricalCrossentropy(from_logits=True, label_smoothing=0.1),
    )
    faces, targets = faces_and_targets((warmup + batches) * batch_size)
    x = (faces[..., None] / 255.0).astype(np.float32)
    for step in range(warmup + batches):
        if step == warmup:
            clock = Stopwatch()
        part = slice(step * batch_size, (step + 1) * batch_size)
        model.train_on_batch(x[part], targets[part])
    return clock.rates(batches * batch_size)


# --- the PyTorch peers: storemood's own code ---


def time_pytorch_step(arch: str, batches: int, batch_size: int, warmup: int, precision: str = "fp32") -> dict:
    """Images per second of storemood's model trained step by step (AdamW, smoothed cross-entropy)."""
    import torch

    from storemood.training.models import build_model
    from storemood.training.train import soft_cross_entropy, to_tensor

    model = build_model(arch, CLASSES).to(memory_format=torch.channels_last).train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=2e-3, weight_decay=5e-4)
    faces, targets = faces_and_targets((warmup + batches) * batch_size)
    for step in range(warmup + batches):
        if step == warmup:
            clock = Stopwatch()
        part = slice(step * batch_size, (step + 1) * batch_size)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=precision == "bf16"):
            logits = model(to_tensor(faces[part])).float()
        loss = soft_cross_entropy(logits, torch.from_numpy(targets[part] * 0.9 + 0.1 / 7), None)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    return clock.rates(batches * batch_size)


def time_pytorch_loop(arch: str, batches: int, batch_size: int, warmup: int, precision: str = "fp32") -> dict:
    """Images per second of storemood's whole ``train_epoch`` (augmentation, schedule, metrics included)."""
    from tqdm import tqdm

    from storemood.data.dataset import ImageSet
    from storemood.emotions import FER7
    from storemood.training.config import TrainConfig
    from storemood.training.train import start_run, train_epoch

    config = TrainConfig(arch=arch, classes=FER7, batch_size=batch_size, epochs=2, precision=precision)
    faces, targets = faces_and_targets(batches * batch_size)
    data = ImageSet(faces, targets, FER7, [""] * len(faces))
    run = start_run(config, data)  # the model, optimiser and one-cycle schedule sized for ``batches`` steps
    warm = ImageSet(faces[: warmup * batch_size], targets[: warmup * batch_size], FER7, [""] * warmup * batch_size)
    with tqdm(disable=True) as bar:
        train_epoch(run, warm, 1, bar)
        clock = Stopwatch()
        train_epoch(run, data, 2, bar)
    return clock.rates(len(data))


WORKERS = {
    "keras": time_keras,
    "pytorch-step": time_pytorch_step,
    "pytorch-loop": time_pytorch_loop,
    "pytorch-step-bf16": partial(time_pytorch_step, precision="bf16"),
    "pytorch-loop-bf16": partial(time_pytorch_loop, precision="bf16"),
}


# --- the orchestrating process ---


def thread_env(cores: int) -> dict[str, str]:
    """Environment that holds every framework's compute threads to ``cores``."""
    env = {"OMP_NUM_THREADS": str(cores), "TF_NUM_INTRAOP_THREADS": str(cores), "TF_NUM_INTEROP_THREADS": str(cores)}
    if cores == 1:
        env["XLA_FLAGS"] = "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
    return env


def pin(cores: int) -> None:
    """Run this worker on its first ``cores`` CPUs, with PyTorch using as many threads."""
    os.sched_setaffinity(0, sorted(os.sched_getaffinity(0))[:cores])
    if os.environ.get("KERAS_BACKEND") == "torch":  # plain PyTorch workers run with this too
        import torch

        torch.set_num_threads(cores)


def run_case(python: str, worker: str, backend: str | None, arch: str, cores: int, args: argparse.Namespace) -> dict:
    """Run one case in a fresh subprocess; its last stdout line is a JSON result."""
    env = dict(os.environ, KERAS_BACKEND=backend or "torch", TF_CPP_MIN_LOG_LEVEL="2", **thread_env(cores))
    command = [python, __file__, "--worker", worker, "--arch", arch, "--cores", str(cores)]
    command += ["--batches", str(args.batches), "--batch-size", str(args.batch_size), "--warmup", str(args.warmup)]
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    name = f"Keras 3 + {backend}" if worker == "keras" else f"plain PyTorch ({worker.split('-', 1)[1]})"
    case = {"framework": name, "arch": arch, "cores": cores}
    if done.returncode != 0:
        return {**case, "error": done.stderr.strip().splitlines()[-1:]}
    return {**case, **json.loads(done.stdout.strip().splitlines()[-1])}


def cases(args: argparse.Namespace) -> list[tuple[str, str, str | None]]:
    """(python, worker, backend) for every case that can run here."""
    from storemood.training.train import fast_bf16_available  # not at the top: the TensorFlow venv lacks storemood

    found = [(sys.executable, "pytorch-step", None), (sys.executable, "pytorch-loop", None)]
    if fast_bf16_available():
        found += [(sys.executable, "pytorch-step-bf16", None), (sys.executable, "pytorch-loop-bf16", None)]
    if args.pytorch_only:
        return found
    found += [(sys.executable, "keras", "torch"), (sys.executable, "keras", "jax")]
    if args.tf_python and Path(args.tf_python).exists():
        found.append((args.tf_python, "keras", "tensorflow"))
    else:
        print("skipping Keras + TensorFlow: pass --tf-python (a virtualenv with tensorflow-cpu and keras)")
    return found


def fastest(runs: list[dict]) -> list[dict]:
    """The fastest run of each case: on a shared machine, other work only ever slows a run down."""
    best: dict[tuple[str, str], dict] = {}
    for run in runs:
        key = (run["framework"], run["arch"], run["cores"])
        if key not in best or run.get("images_per_second", 0) > best[key].get("images_per_second", 0):
            best[key] = run
    return list(best.values())


def ratio(result: dict, peer: dict | None, key: str) -> str:
    return f"{result[key] / peer[key]:.2f}x" if peer else "n/a"


def markdown(results: list[dict]) -> str:
    """The results as a table, with each speed also as a ratio to plain PyTorch's step on the same net."""
    lines = [
        "| cores | framework | architecture | images/s | s per FER2013 epoch | vs PyTorch step | images/CPU-s "
        "| vs PyTorch |",
        "|---|---|---|---|---|---|---|---|",
    ]
    peers = {
        (r["arch"], r["cores"]): r for r in results if r["framework"] == "plain PyTorch (step)" and "error" not in r
    }
    for r in results:
        if "error" in r:
            lines.append(f"| {r['cores']} | {r['framework']} | {r['arch']} | failed: {' '.join(r['error'])} | | | | |")
            continue
        wall, cpu, peer = r["images_per_second"], r["images_per_cpu_second"], peers.get((r["arch"], r["cores"]))
        lines.append(
            f"| {r['cores']} | {r['framework']} | {r['arch']} | {wall:.0f} | {EPOCH_FACES / wall:.0f} | "
            f"{ratio(r, peer, 'images_per_second')} | {cpu:.0f} | {ratio(r, peer, 'images_per_cpu_second')} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=15, help="timed batches per case (default 15)")
    parser.add_argument("--batch-size", type=int, default=128, help="faces per batch (default 128)")
    parser.add_argument("--warmup", type=int, default=3, help="untimed batches first (compilation; default 3)")
    parser.add_argument("--repeats", type=int, default=2, help="rounds over all cases; the fastest counts (default 2)")
    parser.add_argument("--arch", choices=ARCHS, action="append", help="architecture(s) to time (default both)")
    parser.add_argument(
        "--cores", type=int, action="append", help="CPU cores (and threads) each case may use (default: 1, then 2)"
    )
    parser.add_argument("--tf-python", help="python of a virtualenv with tensorflow-cpu and keras")
    parser.add_argument("--pytorch-only", action="store_true", help="time storemood's own training only (fp32, bf16)")
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--worker", choices=sorted(WORKERS), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        pin(args.cores[0])
        print(json.dumps(WORKERS[args.worker](args.arch[0], args.batches, args.batch_size, args.warmup)))
        return
    runs = []
    for _ in range(args.repeats):  # rounds, not back-to-back repeats: a busy spell slows every case alike
        for cores in args.cores or (1, 2):
            for arch in args.arch or ARCHS:
                for python, worker, backend in cases(args):
                    runs.append(run_case(python, worker, backend, arch, cores, args))
                    print(json.dumps(runs[-1]), flush=True)
    results = fastest(runs)
    print(markdown(results))
    if args.json:
        args.json.write_text(json.dumps({"fastest": results, "runs": runs}, indent=2) + "\n")


if __name__ == "__main__":
    main()
