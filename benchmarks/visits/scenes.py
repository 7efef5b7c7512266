"""The store situations, each a seeded script of where every shopper is, how big, and which way they face.

A shopper's script is a list of keyframes (time, face centre x and y in pixels, face side in pixels) joined by
straight-line motion, each stretch facing the camera or turned away. Two shelf zones fill the left and right
thirds of the frame with a walkway between and beside them; shoppers walk at 340 px/s, so walking through a zone
takes about 0.6 s, well under the store's one-second minimum dwell: every truth visit comes from a stop.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

WIDTH, HEIGHT, FPS = 640, 480, 15.0
MIN_DWELL_S = 1.0
#: Zones as frame-relative [x, y, width, height]: two shelves with a walkway between and at both edges.
ZONES: dict[str, tuple[float, float, float, float]] = {
    "shelf-left": (0.1, 0.05, 0.3, 0.9),
    "shelf-right": (0.6, 0.05, 0.3, 0.9),
}
WALK_SPEED = 340.0  # px/s
BROWSE_SPEED = 110.0  # px/s: stepping along a shelf
LEFT_STOP, RIGHT_STOP = 0.25 * WIDTH, 0.75 * WIDTH
SHORTEST_CLIP_S, LONGEST_CLIP_S = 10.0, 25.0


@dataclass(frozen=True)
class Pose:
    """Where a shopper's face is at one moment: centre, side (pixels) and whether it faces the camera."""

    x: float
    y: float
    side: float
    facing: str  # "front" or "back"


@dataclass
class Shopper:
    """One person's script, built with :meth:`walk`, :meth:`stay` and :meth:`turn` from a start pose."""

    id: int
    portrait: str
    times: list[float]
    poses: list[tuple[float, float, float]]
    facings: list[str] = field(default_factory=list)  # facings[i]: from keyframe i to i + 1

    @classmethod
    def enter(cls, id: int, portrait: str, t: float, from_left: bool, y: float, side: float) -> Shopper:
        """A shopper who appears just outside the left or right frame edge at time ``t``."""
        x = -1.6 * side if from_left else WIDTH + 1.6 * side
        return cls(id, portrait, [t], [(x, y, side)])

    @property
    def end(self) -> float:
        return self.times[-1]

    def _to(self, seconds: float, x: float, y: float, side: float, facing: str) -> Shopper:
        self.times.append(self.times[-1] + seconds)
        self.poses.append((x, y, side))
        self.facings.append(facing)
        return self

    def walk(self, x: float, speed: float = WALK_SPEED, side: float | None = None, y: float | None = None) -> Shopper:
        """Walk (facing the camera) to ``x``, optionally ending at another face size or height."""
        last_x, last_y, last_side = self.poses[-1]
        return self._to(abs(x - last_x) / speed, x, last_y if y is None else y, side or last_side, "front")

    def leave(self, to_left: bool) -> Shopper:
        """Walk out of the frame by the left or right edge."""
        side = self.poses[-1][2]
        return self.walk(-1.6 * side if to_left else WIDTH + 1.6 * side)

    def stay(self, seconds: float, facing: str = "front") -> Shopper:
        """Stand still for ``seconds``."""
        return self._to(seconds, *self.poses[-1], facing)

    def turn(self, seconds: float) -> Shopper:
        """Turn away from the camera (face hidden, head still there) for ``seconds``."""
        return self.stay(seconds, "back")

    def step_to_side(self, side: float, seconds: float, y: float | None = None) -> Shopper:
        """Step back (smaller face) or forward (larger) on the spot over ``seconds``."""
        x, last_y, _ = self.poses[-1]
        return self._to(seconds, x, last_y if y is None else y, side, "front")

    def at(self, t: float) -> Pose | None:
        """The pose at time ``t``, None before the script starts or after it ends."""
        if t < self.times[0] or t > self.times[-1] or len(self.times) < 2:
            return None
        i = min(int(np.searchsorted(self.times, t, side="right")) - 1, len(self.times) - 2)
        span = self.times[i + 1] - self.times[i]
        a = 0.0 if span == 0 else (t - self.times[i]) / span
        (x0, y0, s0), (x1, y1, s1) = self.poses[i], self.poses[i + 1]
        return Pose(x0 + a * (x1 - x0), y0 + a * (y1 - y0), s0 + a * (s1 - s0), self.facings[i])


@dataclass
class Scene:
    """Everything a clip is made from: the shoppers, an optional hanging sign, background and length."""

    situation: str
    shoppers: list[Shopper]
    background: str
    seconds: float
    sign: tuple[int, int, int, int] | None = None  # x, y, w, h in pixels, drawn over every shopper


def _heads(rng: np.random.Generator) -> tuple[float, float]:
    """A face centre height and side for a shopper standing near the shelf."""
    return float(rng.uniform(0.36, 0.48) * HEIGHT), float(rng.uniform(58, 82))


def _turns(shopper: Shopper, rng: np.random.Generator, seconds: float, count: int) -> Shopper:
    """Stand ``seconds`` in all, turning away ``count`` times for 0.5-4 s each, facing the camera between."""
    turns = [float(rng.uniform(0.5, 4.0)) for _ in range(count)]
    facing = max(seconds - sum(turns), 0.6 * (count + 1))
    gaps = rng.dirichlet(np.ones(count + 1)) * (facing - 0.6 * (count + 1)) + 0.6
    shopper.stay(float(gaps[0]))
    for turn, gap in zip(turns, gaps[1:], strict=True):
        shopper.turn(turn).stay(float(gap))
    return shopper


def simple(rng: np.random.Generator, people: list[str]) -> list[Shopper]:
    """One or two shoppers, each walking in from their own edge, stopping at one shelf and leaving the same way."""
    y, side = _heads(rng)
    shoppers = [Shopper.enter(1, people[0], 0.3, True, y, side).walk(LEFT_STOP).stay(rng.uniform(3, 5)).leave(True)]
    if rng.random() < 0.7:
        y, side = _heads(rng)
        start = float(rng.uniform(1.0, 4.0))
        second = Shopper.enter(2, people[1], start, False, y, side).walk(RIGHT_STOP).stay(rng.uniform(3, 5))
        shoppers.append(second.leave(False))
    return shoppers


def turn_away(rng: np.random.Generator, people: list[str]) -> list[Shopper]:
    """Shoppers who stop at a shelf and turn away from the camera for 0.5-4 s, once to three times."""
    shoppers = []
    for id, (from_left, stop) in enumerate([(True, LEFT_STOP), (False, RIGHT_STOP)], start=1):
        y, side = _heads(rng)
        shopper = Shopper.enter(id, people[id - 1], float(rng.uniform(0.2, 2.0)), from_left, y, side).walk(stop)
        shoppers.append(_turns(shopper, rng, float(rng.uniform(7, 10)), int(rng.integers(1, 4))).leave(from_left))
    return shoppers


def behind_sign(rng: np.random.Generator, people: list[str]) -> list[Shopper]:
    """A shopper browsing along the right shelf stands behind a hanging sign for 1.5-2 s; another walks past it.

    The sign covers the face centres from about 0.7 to 0.85 of the frame width: the first shopper browses into
    it and waits there, the second walks in behind it from the right edge and stops beside it, in view.
    """
    y, side = _heads(rng)
    first = Shopper.enter(1, people[0], 0.3, True, y, side).walk(LEFT_STOP).stay(rng.uniform(2, 3))
    first.walk(0.64 * WIDTH).stay(rng.uniform(1.5, 2.5)).walk(0.8 * WIDTH, BROWSE_SPEED).stay(rng.uniform(1, 1.5))
    y, side = _heads(rng)
    second = Shopper.enter(2, people[1], float(rng.uniform(8, 10)), False, y, side).walk(0.63 * WIDTH)
    return [first.leave(False), second.stay(rng.uniform(2, 3)).leave(True)]


def behind_shopper(rng: np.random.Generator, people: list[str]) -> list[Shopper]:
    """A shopper standing at a shelf is hidden for a moment by a nearer one walking past, twice."""
    y, _ = _heads(rng)
    far = Shopper.enter(1, people[0], 0.2, True, y, float(rng.uniform(50, 58))).walk(LEFT_STOP)
    far.stay(rng.uniform(9, 11)).leave(True)
    near_y = y + float(rng.uniform(-10, 10))
    near_side = float(rng.uniform(84, 96))
    near = Shopper.enter(2, people[1], 2.5, False, near_y, near_side).leave(True)
    near.stay(0.3)  # out of sight to the left, then back the other way
    near.walk(RIGHT_STOP).stay(rng.uniform(2, 3)).leave(False)
    return [far, near]


def crossing(rng: np.random.Generator, people: list[str]) -> list[Shopper]:
    """Two shoppers walk towards each other, cross in the middle, and each stops at the far shelf."""
    y, side = _heads(rng)
    left = Shopper.enter(1, people[0], 0.3, True, y, side).walk(RIGHT_STOP).stay(rng.uniform(3, 4)).leave(False)
    other_y = y + float(rng.uniform(-15, 15))
    right = Shopper.enter(2, people[1], 0.3, False, other_y, side * float(rng.uniform(0.85, 1.15))).walk(LEFT_STOP)
    return [left, right.stay(rng.uniform(3, 4)).leave(True)]


def close_together(rng: np.random.Generator, people: list[str]) -> list[Shopper]:
    """Two shoppers stand side by side at one shelf, faces a fifth of a face apart; one turns away."""
    y, side = _heads(rng)
    gap = 1.2 * side
    first = Shopper.enter(1, people[0], 0.3, True, y, side).walk(LEFT_STOP + gap / 2)
    second = Shopper.enter(2, people[1], 0.8, True, y + float(rng.uniform(-8, 8)), side).walk(LEFT_STOP - gap / 2)
    seconds = float(rng.uniform(6, 8))
    first.stay(seconds + second.end - first.end)
    _turns(second, rng, seconds, 1)
    return [first.leave(False), second.leave(True)]


def step_back(rng: np.random.Generator, people: list[str]) -> list[Shopper]:
    """A shopper at a shelf steps back until the face is about 46 px, waits, and comes close again."""
    y, side = _heads(rng)
    shopper = Shopper.enter(1, people[0], 0.3, False, y, float(rng.uniform(88, 100))).walk(RIGHT_STOP)
    shopper.stay(rng.uniform(2, 3)).step_to_side(float(rng.uniform(44, 48)), 1.5, y - 25).stay(rng.uniform(2, 3))
    return [shopper.step_to_side(side, 1.0, y).stay(rng.uniform(1.5, 2.5)).leave(False)]


def store(rng: np.random.Generator, people: list[str]) -> list[Shopper]:
    """Four shoppers in about 24 s: two side by side turning away, one browsing behind the sign, one passing by."""
    pair = close_together(rng, people[:2])
    browser = behind_sign(rng, people[2:4])[0]
    browser.id = 3
    _shift(browser, 6.0)
    y, side = _heads(rng)
    passer = Shopper.enter(4, people[3], float(rng.uniform(2, 4)), False, y, side).leave(True)
    return [*pair, browser, passer]


def _shift(shopper: Shopper, seconds: float) -> None:
    shopper.times = [t + seconds for t in shopper.times]


SituationScript = Callable[[np.random.Generator, list[str]], list[Shopper]]
#: Every situation by name, in the order reports list them.
SITUATIONS: dict[str, SituationScript] = {
    "simple": simple,
    "turn-away": turn_away,
    "behind-sign": behind_sign,
    "behind-shopper": behind_shopper,
    "crossing": crossing,
    "close-together": close_together,
    "step-back": step_back,
    "store": store,
}
#: The hanging sign, over the right shelf, for the situations that have one.
SIGN = (round(0.7 * WIDTH), 40, 96, 250)
SIGNED = {"behind-sign", "store"}


def build_scene(situation: str, seed: int, portraits: list[str], backgrounds: list[str]) -> Scene:
    """The scene of one situation for one seed: shoppers from distinct portraits, a background, a length."""
    rng = np.random.default_rng([seed, list(SITUATIONS).index(situation)])
    people = [portraits[i] for i in rng.permutation(len(portraits))]
    shoppers = SITUATIONS[situation](rng, people)
    last = max(shopper.end for shopper in shoppers)
    seconds = float(min(max(math.ceil(last + 0.5), SHORTEST_CLIP_S), LONGEST_CLIP_S))
    background = backgrounds[int(rng.integers(len(backgrounds)))]
    return Scene(situation, shoppers, background, seconds, SIGN if situation in SIGNED else None)
