"""``store.yaml``: the store layout (cameras, shelf zones, products, brands) as strict pydantic models.

It is also the one home of how each camera's video is analysed: ``detect``, ``track`` and ``classify``
blocks for the whole store, which a camera's own blocks override field by field
(:meth:`StoreLayout.analysis`), and the engagement threshold (``settings``). The values they start from
are those of :mod:`storemood.defaults`.

The file is the retailer's contract with storemood, so it is validated strictly, as Frigate does with its
configuration: an unknown key, a duplicate id, a zone reaching outside the frame or a product without a
brand is an error naming the line and key, never a silently ignored setting. Every field carries a
description, so these models also document the file (see ``storemood/examples/store.yaml``).

>>> layout = StoreLayout.model_validate({
...     "id": "s1", "name": "Corner shop",
...     "cameras": [{"id": "cam1", "source": "0", "zones": [
...         {"id": "z1", "rect": [0, 0, 0.5, 1], "product": {"sku": "A1", "name": "Oats", "brand": "Acme"}}]}]})
>>> layout.camera("cam1").zones[0].polygon()
[(0.0, 0.0), (0.5, 0.0), (0.5, 1.0), (0.0, 1.0)]
>>> layout.analysis("cam1").detect.min_face
40
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Annotated

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from storemood import defaults
from storemood.defaults import DetectorName
from storemood.errors import UserError
from storemood.paths import PACKAGE_DIR

EXAMPLES_DIR = PACKAGE_DIR / "examples"
EXAMPLE_STORE = EXAMPLES_DIR / "store.yaml"

Relative = Annotated[float, Field(ge=0.0, le=1.0)]
Identifier = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")]


class LayoutError(ValueError):
    """A layout rule broken at a known place: ``loc`` is the path below the model that raised it."""

    def __init__(self, message: str, loc: tuple[str | int, ...]) -> None:
        super().__init__(message)
        self.loc = loc


class _Strict(BaseModel):
    """Unknown keys are errors: a typo must never silently switch a setting off."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Product(_Strict):
    """The product a zone shows. Every product belongs to exactly one brand."""

    sku: Identifier = Field(description="Stock-keeping unit: the product's id in reports and the database.")
    name: str = Field("", max_length=200, description="Human-readable product name shown in reports.")
    brand: str = Field(
        min_length=1, max_length=200, description="Brand of the product (required): reports aggregate by it."
    )


class Zone(_Strict):
    """A shelf zone: the part of a camera's frame where a shopper stands in front of one product."""

    id: Identifier = Field(description="Zone id, unique within the store.")
    product: Product = Field(description="The product on the shelf in this zone.")
    rect: tuple[Relative, Relative, Relative, Relative] | None = Field(
        None, description="Rectangle [x, y, width, height] in frame-relative coordinates (0..1)."
    )
    points: list[tuple[Relative, Relative]] | None = Field(
        None, min_length=3, description="Polygon [[x, y], ...] in frame-relative coordinates (0..1)."
    )
    inertia: int = Field(
        3,
        ge=1,
        le=300,
        description="Consecutive analysed frames a face must be inside (or outside) before it counts as "
        "having entered (or left): a shopper walking past is not a visit, jitter at the border does not "
        "split one.",
    )

    @model_validator(mode="after")
    def _one_shape_inside_the_frame(self) -> Zone:
        if (self.rect is None) == (self.points is None):
            raise ValueError("give exactly one of 'rect' or 'points'")
        if self.rect is not None:
            x, y, w, h = self.rect
            if w <= 0 or h <= 0:
                raise LayoutError("a zone needs a positive width and height", ("rect",))
            if x + w > 1.0 + 1e-9 or y + h > 1.0 + 1e-9:
                raise LayoutError(
                    f"zone lies outside the frame (x + width = {x + w:g}, y + height = {y + h:g}; both must "
                    "be at most 1)",
                    ("rect",),
                )
        return self

    def polygon(self) -> list[tuple[float, float]]:
        """The zone's outline as relative points, whichever way it was written."""
        if self.points is not None:
            return [(float(x), float(y)) for x, y in self.points]
        x, y, w, h = (float(value) for value in self.rect)  # type: ignore[union-attr]
        return [(x, y), (x + w, y), (x + w, y + h), (x, y + h)]


class DetectSettings(_Strict):
    """How faces are found in a frame (``detect:``)."""

    detector: DetectorName = Field(
        defaults.DETECTOR,
        description="Face detector: blazeface (fast, faces from about 48 px) or mtcnn (9-17x slower, "
        "finds smaller faces).",
    )
    min_face: int = Field(defaults.MIN_FACE, ge=1, description="Faces with a smaller side are ignored, pixels.")
    score_threshold: float = Field(
        defaults.SCORE_THRESHOLD,
        ge=0.0,
        le=1.0,
        description="Detections with a lower detector score are ignored, 0..1.",
    )


class TrackSettings(_Strict):
    """How a face is followed from frame to frame (``track:``)."""

    lost_s: float = Field(
        defaults.LOST_S,
        gt=0,
        description="Seconds a face may go unseen (turned to the shelf, hidden, a missed detection) before its "
        "track ends; a face returning in time where its position and size fit continues its track and visit.",
    )
    match_gate: float = Field(
        defaults.MATCH_GATE,
        gt=0,
        description="Largest matching cost (centre distance in face sizes plus the log of the size change) at "
        "which a detection still continues a track; a farther face starts a new track.",
    )
    candidate_threshold: float = Field(
        defaults.CANDIDATE_THRESHOLD,
        ge=0,
        le=1,
        description="Detections scoring at least this but under detect.score_threshold may continue a track "
        "seen on the previous frame, never start one.",
    )
    min_track_s: float = Field(
        defaults.MIN_TRACK_S,
        ge=0,
        description="Tracks followed for less than this many seconds are not listed as shoppers in the run summary.",
    )


class ClassifySettings(_Strict):
    """How each tracked face's expression is read (``classify:``)."""

    hz: float = Field(
        defaults.CLASSIFY_HZ,
        ge=0,
        description="Re-read each tracked face this often per second (a new face is read at once); "
        "0 reads every face on every analysed frame.",
    )
    mirror: bool = Field(
        defaults.MIRROR,
        description="Average each reading with the mirror image's (the model card's accuracy is measured "
        "so); false halves the model work.",
    )
    max_yaw: float = Field(
        defaults.MAX_YAW,
        ge=0,
        le=90,
        description="Read only faces turned at most this many degrees left or right of the camera (estimated "
        "from the landmarks); a face turned further counts in visits and dwell but adds no emotion reading.",
    )
    max_pitch: float = Field(
        defaults.MAX_PITCH,
        ge=0,
        le=90,
        description="Read only faces tilted at most this many degrees up or down from the camera.",
    )
    read_min_face: float = Field(
        defaults.READ_MIN_FACE,
        ge=1,
        description="Read only faces with at least this side in pixels (smaller ones are tracked, not read).",
    )
    model: Path | None = Field(
        None, description="ONNX emotion model, relative to this YAML file (default: the shipped model)."
    )


class Analysis(_Strict):
    """How one camera's video is analysed: the store's blocks with the camera's own values laid over them,
    and what to request from the camera."""

    detect: DetectSettings = Field(default_factory=DetectSettings)
    track: TrackSettings = Field(default_factory=TrackSettings)
    classify: ClassifySettings = Field(default_factory=ClassifySettings)
    fps: float | None = None
    resolution: tuple[int, int] | None = None

    def overridden_by(self, camera: Camera) -> Analysis:
        """These settings with every field that the camera's own blocks set replaced, field by field."""

        def merged(name: str) -> BaseModel:
            base, own = getattr(self, name), getattr(camera, name)
            return base if own is None else base.model_copy(update=own.model_dump(exclude_unset=True))

        return Analysis(
            detect=merged("detect"),
            track=merged("track"),
            classify=merged("classify"),
            fps=camera.fps,
            resolution=camera.resolution,
        )


class Camera(_Strict):
    """One camera of the store and the shelf zones it sees."""

    id: Identifier = Field(description="Camera id, unique within the store; `storemood run --camera` takes it.")
    source: str = Field(
        description="Video source: a file path (relative to this YAML file), an RTSP/HTTP URL or a webcam "
        "index such as '0'."
    )
    resolution: tuple[Annotated[int, Field(gt=0)], Annotated[int, Field(gt=0)]] | None = Field(
        None,
        description="Optional [width, height] to request from a webcam, pixels; a video file or stream delivers "
        "what it encodes (a difference is logged).",
    )
    fps: float | None = Field(
        None,
        gt=0,
        description="Optional frame rate to request from a webcam; a video file or stream delivers what it "
        "encodes (a difference is logged).",
    )
    detect: DetectSettings | None = Field(None, description="This camera's detection settings over the store's.")
    track: TrackSettings | None = Field(None, description="This camera's tracking settings over the store's.")
    classify: ClassifySettings | None = Field(
        None, description="This camera's classification settings over the store's."
    )
    zones: list[Zone] = Field(min_length=1, description="The shelf zones this camera sees.")


class Settings(_Strict):
    """How visits are counted and how long events are kept."""

    min_dwell_s: float = Field(1.0, ge=0, description="Visits shorter than this many seconds are dropped (passers-by).")
    engagement_dwell_s: float = Field(
        defaults.ENGAGEMENT_DWELL_S,
        ge=0,
        description="A visit at least this long counts as engaged in reports (`storemood report` and `serve` "
        "read it with --store store.yaml).",
    )
    retention_days: int | None = Field(
        None,
        ge=1,
        description="Delete events older than this many days when a run starts, and forget cameras silent as "
        "long (None: keep all).",
    )
    min_visits: int = Field(
        defaults.MIN_VISITS, ge=1, description="Groups with fewer visits are greyed as too few visits and never ranked."
    )
    min_group: int = Field(
        defaults.MIN_GROUP,
        ge=1,
        description="Groups with fewer visits show no figure at all (k-anonymity): no one shopper can be read out.",
    )
    shares: defaults.SharesMethod = Field(
        defaults.SHARES_METHOD,
        description="How emotion shares are estimated: count, calibrated or adjusted (see docs).",
    )


class StillSettings(_Strict):
    """Each camera's still (``still:``): the per-pixel median of frames kept over time, so it shows the shelf
    and no shopper (people move, shelves do not); the dashboard draws the zones on it. Face regions the
    detector found are left out of the median, and one frame alone is never written."""

    enabled: bool = Field(
        defaults.STILL_ENABLED, description="Write each camera's still to the database (`run --no-still`: off)."
    )
    sample_s: float = Field(
        defaults.STILL_SAMPLE_S, gt=0, description="Seconds between two frames kept for the still (video time)."
    )
    frames: int = Field(
        defaults.STILL_FRAMES,
        ge=defaults.STILL_MIN_FRAMES,
        le=100,
        description=f"The newest this many kept frames make the still (at least {defaults.STILL_MIN_FRAMES}).",
    )
    every_s: float = Field(
        defaults.STILL_EVERY_S,
        gt=0,
        description=f"Seconds between two writes of the still, and once more when a run ends; nothing is "
        f"written before {defaults.STILL_MIN_FRAMES} frames are kept.",
    )


class Publish(_Strict):
    """Where else each stored visit goes, as it happens (see docs/integrations.md). The webhook's signing
    secret is read from the environment variable ``STOREMOOD_WEBHOOK_SECRET``, never from this file."""

    mqtt: str | None = Field(None, description="mqtt://HOST[:PORT]/PREFIX: one QoS 1 message per visit.")
    webhook: str | None = Field(None, description="http(s):// URL: one POST of JSON per visit.")

    @model_validator(mode="after")
    def _valid_urls(self) -> Publish:
        from storemood.delivery.destinations import WebhookDestination, parse_mqtt_url

        try:
            if self.mqtt is not None:
                parse_mqtt_url(self.mqtt)
            if self.webhook is not None:
                WebhookDestination(self.webhook)
        except UserError as error:
            raise ValueError(str(error)) from None
        return self

    def merged(self, mqtt: str | None = None, webhook: str | None = None) -> Publish:
        """These targets with the command line's (given ones win), validated again."""
        return Publish(mqtt=mqtt or self.mqtt, webhook=webhook or self.webhook)


class StoreLayout(_Strict):
    """One store: its cameras, their zones and the products and brands those zones show."""

    id: Identifier = Field(description="Store id, unique across a chain sharing one database.")
    name: str = Field("", max_length=200, description="Human-readable store name.")
    publish: Publish = Field(default_factory=Publish, description="MQTT broker and webhook for every visit.")
    settings: Settings = Field(default_factory=Settings, description="Visit and retention settings.")
    still: StillSettings = Field(default_factory=StillSettings, description="Each camera's still (shelf view).")
    detect: DetectSettings = Field(default_factory=DetectSettings, description="Face detection, every camera.")
    track: TrackSettings = Field(default_factory=TrackSettings, description="Face tracking, every camera.")
    classify: ClassifySettings = Field(
        default_factory=ClassifySettings, description="Expression reading, every camera."
    )
    cameras: list[Camera] = Field(min_length=1, description="The store's cameras.")

    @model_validator(mode="after")
    def _unique_ids(self) -> StoreLayout:
        _reject_duplicates([camera.id for camera in self.cameras], "camera", lambda i: ("cameras", i, "id"))
        zone_places = [(c, z) for c, camera in enumerate(self.cameras) for z in range(len(camera.zones))]
        zone_ids = [self.cameras[c].zones[z].id for c, z in zone_places]
        _reject_duplicates(zone_ids, "zone", lambda i: ("cameras", zone_places[i][0], "zones", zone_places[i][1], "id"))
        return self

    def camera(self, camera_id: str) -> Camera:
        """The camera with this id, or a UserError listing the known ones."""
        for camera in self.cameras:
            if camera.id == camera_id:
                return camera
        known = ", ".join(camera.id for camera in self.cameras)
        raise UserError(f"unknown camera {camera_id!r} in store {self.id!r}; known cameras: {known}")

    def analysis(self, camera_id: str) -> Analysis:
        """How the camera's video is analysed: the store's ``detect``/``track``/``classify`` blocks, with
        every field the camera's own blocks set taking precedence."""
        store = Analysis(detect=self.detect, track=self.track, classify=self.classify)
        return store.overridden_by(self.camera(camera_id))


def _reject_duplicates(ids: list[str], what: str, loc_of) -> None:
    counts = Counter(ids)
    for index, value in enumerate(ids):
        if counts[value] > 1 and ids.index(value) != index:
            raise LayoutError(f"duplicate {what} id {value!r}", loc_of(index))


MAX_NESTING = 32
"""store.yaml nests a few levels (store, camera, zone, polygon point); deeper means a mistake or an attack."""
MAX_NODES = 100_000
"""Values in a store.yaml once aliases are expanded: a chain of aliases can otherwise stand for billions."""


class _StoreLoader(yaml.SafeLoader):
    """SafeLoader that rejects a key written twice in one mapping (PyYAML keeps the last silently), nesting
    deeper than :data:`MAX_NESTING` and documents that expand to more than :data:`MAX_NODES` values."""

    depth = 0

    def compose_node(self, parent, index):
        self.depth += 1
        try:
            if self.depth > MAX_NESTING:
                mark = self.peek_event().start_mark
                raise yaml.composer.ComposerError(None, None, f"nested deeper than {MAX_NESTING} levels", mark)
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1

    def construct_document(self, node):
        _expanded_size(node, {})
        return super().construct_document(node)

    def construct_mapping(self, node, deep=False):
        seen: set = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(None, None, f"duplicate key {key!r}", key_node.start_mark)
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def _expanded_size(node: yaml.Node, sizes: dict[int, int]) -> int:
    """How many values ``node`` stands for with every alias expanded, counted once per distinct node."""
    if id(node) not in sizes:
        if isinstance(node, yaml.MappingNode):
            children = [child for pair in node.value for child in pair]
        else:
            children = node.value if isinstance(node, yaml.SequenceNode) else []
        sizes[id(node)] = 1 + sum(_expanded_size(child, sizes) for child in children)
        if sizes[id(node)] > MAX_NODES:
            raise yaml.constructor.ConstructorError(
                None, None, f"more than {MAX_NODES:,} values once aliases are expanded", node.start_mark
            )
    return sizes[id(node)]


def load_store(path: Path | str) -> StoreLayout:
    """Read and validate a store.yaml; any problem becomes one UserError naming the file, line and key.

    Relative file sources are resolved against the YAML file's folder, so a layout can ship beside its clips.

    >>> layout = load_store(EXAMPLE_STORE)                  # the commented example that ships with storemood
    >>> layout.id, [camera.id for camera in layout.cameras]
    ('downtown-01', ['aisle-3', 'endcap-1'])
    >>> layout.camera("aisle-3").zones[0].product.brand
    'Acme'
    """
    path = Path(path)
    if path.is_dir():
        raise UserError(f"store layout {path} is a folder; give the store.yaml file inside it")
    if not path.is_file():
        raise UserError(f"store layout {path} not found")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        raise UserError(f"{path}: not UTF-8 text (byte {error.start} cannot be read); save it as UTF-8") from None
    try:
        data = yaml.load(text, Loader=_StoreLoader)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark else ""
        raise UserError(f"{path}{where}: not valid YAML: {getattr(error, 'problem', error)}") from None
    if not isinstance(data, dict):
        raise UserError(f"{path}: expected a mapping with id, name, cameras at the top level")
    try:
        layout = StoreLayout.model_validate(data)
    except ValidationError as error:
        raise UserError(_describe(error, path, text)) from None
    return _with_resolved_paths(layout, path.parent)


def _with_resolved_paths(layout: StoreLayout, base: Path) -> StoreLayout:
    """File sources and model paths made absolute against ``base`` (the YAML file's folder)."""
    cameras = []
    for camera in layout.cameras:
        candidate = base / camera.source
        if "://" not in camera.source and not camera.source.isdigit() and candidate.exists():
            camera = camera.model_copy(update={"source": str(candidate.resolve())})
        if camera.classify is not None and camera.classify.model is not None:
            camera = camera.model_copy(update={"classify": _with_resolved_model(camera.classify, base)})
        cameras.append(camera)
    return layout.model_copy(update={"cameras": cameras, "classify": _with_resolved_model(layout.classify, base)})


def _with_resolved_model(classify: ClassifySettings, base: Path) -> ClassifySettings:
    if classify.model is None:
        return classify
    return classify.model_copy(update={"model": (base / classify.model).resolve()})


def _describe(error: ValidationError, path: Path, text: str) -> str:
    """The first validation problem as ``file line N: key.path: message`` (+ how many more)."""
    first = error.errors()[0]
    loc = tuple(first["loc"])
    cause = first.get("ctx", {}).get("error")
    if isinstance(cause, LayoutError):
        loc = loc + cause.loc
        message = str(cause)
    else:
        message = first["msg"].removeprefix("Value error, ")
    if first["type"] == "extra_forbidden":
        message = f"unknown key {loc[-1]!r}"
    elif first["type"] == "missing":
        message = f"required key {loc[-1]!r} is missing"
    line = _line_of(text, loc)
    more = f" (and {error.error_count() - 1} more problems)" if error.error_count() > 1 else ""
    return f"{path}{f' line {line}' if line else ''}: {_dotted(loc)}: {message}{more}"


def _dotted(loc: tuple) -> str:
    return "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in loc).lstrip(".") or "(top)"


def _line_of(text: str, loc: tuple) -> int | None:
    """1-based line of the YAML key or item at ``loc``, or of its nearest parent that exists."""
    node, line = yaml.compose(text, Loader=yaml.SafeLoader), None
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            pair = next(((key, value) for key, value in node.value if key.value == part), None)
            if pair is None:
                break
            line, node = pair[0].start_mark.line + 1, pair[1]
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            break
    return line
