"""The Python API: ``storemood.analyze``, ``storemood.stream`` and ``storemood.visits``.

Thin entry points over the same code the commands run, with the same defaults (the shipped model,
BlazeFace, mirroring each face): what ``storemood detect`` prints for a photo, :func:`analyze` returns for
it. Models load once per process and set of options, so calling :func:`analyze` in a loop is cheap.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import fields, replace
from datetime import datetime
from functools import lru_cache
from pathlib import Path

import numpy as np

from storemood.errors import UserError
from storemood.pipeline.frames import FrameResult, Sink
from storemood.pipeline.options import RunOptions

#: The options of :class:`~storemood.pipeline.options.RunOptions` that analysing one image uses.
IMAGE_OPTIONS = ("model", "detector", "min_face", "score_threshold", "threads", "mirror")


def analyze(image: str | Path | np.ndarray | object, **options) -> list[dict]:
    """Faces and their emotions in one image: a path, a BGR ``uint8`` array (OpenCV's order) or a PIL image.

    Each face is a dict: ``box`` (x, y, width, height in pixels), ``score`` (detector confidence),
    ``landmarks`` ([x, y] points; the first two are the subject's right and left eye), ``probabilities``
    (each of the 7 emotions, summing to 1) and ``emotion`` (the most probable one). Keyword ``options``
    override the defaults of :class:`~storemood.pipeline.options.RunOptions` (``model``, ``detector``,
    ``min_face``, ``score_threshold``, ``threads``, ``mirror``).

    >>> from skimage import data
    >>> faces = analyze(data.astronaut()[:, :, ::-1])         # scikit-image gives RGB; OpenCV order is BGR
    >>> len(faces), faces[0]["emotion"], faces[0]["box"][2] > 50
    (1, 'happy', True)
    >>> round(sum(faces[0]["probabilities"].values()), 3)
    1.0
    """
    from storemood.vision.stills import analyse_array

    detector, classifier = _models(**_image_options(options))
    return analyse_array(_bgr(image), detector, classifier).faces_as_dicts()


def stream(
    source: str | Path | int, sinks: Sequence[Sink] = (), start_time: datetime | None = None, **options
) -> Iterator[FrameResult]:
    """Analyse a video file, webcam index or RTSP/HTTP URL frame by frame, yielding each frame's result.

    Each :class:`~storemood.pipeline.frames.FrameResult` carries the frame's ``faces`` with track ids and
    smoothed probabilities; ``sinks`` (objects with ``on_frame(result)`` and ``close()``) receive every
    result too, where storemood's own visit and database sinks plug in. The last result ends every open
    track. Keyword ``options`` override :class:`~storemood.pipeline.options.RunOptions` (``every``,
    ``classify_hz``, ``max_frames``, ...); no progress bar unless ``progress=True``.

    >>> import tempfile
    >>> from storemood.demo.clip import build_store_clip
    >>> clip = build_store_clip(Path(tempfile.mkdtemp()) / "clip.avi", seconds=2)
    >>> results = list(stream(clip.path))
    >>> len(results) == clip.frames + 1, sorted({int(i) for r in results for i in r.faces.track_ids})
    (True, [1, 2])
    """
    from storemood.pipeline.loop import stream_source

    run_options = _options(progress=False, start_time=start_time, **options)
    return stream_source(str(source), run_options, sinks)


def visits(
    db: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    *,
    limit: int | None = None,
    offset: int = 0,
    as_frame: bool = False,
    **filters: Sequence[str],
):
    """Stored visits, oldest first: a list of dicts (see :func:`~storemood.analytics.queries.list_visits`),
    or a pandas DataFrame with ``as_frame=True`` (pandas must be installed).

    ``db`` is a database URL (the default SQLite file when None); ``since`` (inclusive) and ``until``
    (exclusive) bound the visit start; ``stores``, ``cameras``, ``zones``, ``products`` and ``brands``
    take lists of ids.

    >>> import tempfile
    >>> from storemood.demo.run import demo_sinks, run_demo
    >>> from storemood.pipeline.options import RunOptions
    >>> url = f"sqlite:///{tempfile.mkdtemp()}/demo.db"
    >>> _ = run_demo(RunOptions(progress=False), demo_sinks(url))
    >>> rows = visits(url, products=["tea"])
    >>> {row["product"] for row in rows}, sorted(rows[0]["probabilities"])[:2]
    ({'tea'}, ['angry', 'disgust'])
    """
    from storemood.analytics.queries import Filters, list_visits
    from storemood.database.engine import open_existing

    chosen = Filters(since=since, until=until, **{name: tuple(values) for name, values in filters.items()})
    engine = open_existing(db)
    try:
        rows = list_visits(engine, chosen, limit=limit, offset=offset)
    finally:
        engine.dispose()
    if not as_frame:
        return rows
    try:
        import pandas
    except ImportError:
        raise UserError("as_frame=True needs pandas: pip install pandas") from None
    return pandas.json_normalize(rows)


def _options(**changes) -> RunOptions:
    known = {field.name for field in fields(RunOptions)}
    unknown = sorted(set(changes) - known)
    if unknown:
        raise UserError(f"unknown option {unknown[0]!r}; choose from {', '.join(sorted(known))}")
    return replace(RunOptions(), **changes)


def _image_options(options: dict) -> dict:
    unknown = sorted(set(options) - set(IMAGE_OPTIONS))
    if unknown:
        raise UserError(f"unknown option {unknown[0]!r} for an image; choose from {', '.join(IMAGE_OPTIONS)}")
    chosen = _options(**options)
    return {name: getattr(chosen, name) for name in IMAGE_OPTIONS}


@lru_cache(maxsize=4)
def _models(model, detector, min_face, score_threshold, threads, mirror):
    from storemood.vision.classifier import EmotionClassifier
    from storemood.vision.detectors import create_detector

    return (
        create_detector(detector, min_face, score_threshold, threads),
        EmotionClassifier(model, threads=threads, mirror=mirror),
    )


def _bgr(image) -> np.ndarray:
    """Any accepted image as 8-bit BGR."""
    from storemood import image_io
    from storemood.vision.stills import read_image

    if isinstance(image, str | Path):
        return read_image(Path(image))
    if isinstance(image, np.ndarray):
        if image.ndim not in (2, 3) or image.size == 0:
            raise UserError(f"expected an image array of shape (H, W) or (H, W, C), got {image.shape}")
        return image_io.to_bgr(image_io.to_uint8(image))
    if hasattr(image, "convert") and hasattr(image, "size"):  # a PIL image, without importing PIL
        return np.ascontiguousarray(np.asarray(image.convert("RGB"))[:, :, ::-1])
    raise UserError(f"expected a path, a numpy array or a PIL image, not {type(image).__name__}")
