"""The planner's colours and classes, shared by the interactive map and the report's SVG.

Okabe-Ito colours, safe for the common colour-vision deficiencies: blues within ten minutes on
foot, orange and vermilion beyond, black where no facility can be reached at all.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from livingcircle.maps import words


@dataclass(frozen=True)
class Band:
    """A class of walking time: up to ``upper`` minutes (``inf``: beyond the last limit)."""

    upper: float
    color: str
    label_zh: str
    label_en: str

    @property
    def label(self) -> str:
        """``5–10 分钟 · 5–10 min``."""
        return words.both(self.label_zh, self.label_en)


#: minutes on foot, Okabe-Ito colours; the last band is "no facility reachable"
BANDS = (
    Band(5, "#0072B2", "5 分钟以内", "within 5 min"),
    Band(10, "#56B4E9", "5–10 分钟", "5–10 min"),
    Band(15, "#E69F00", "10–15 分钟", "10–15 min"),
    Band(math.inf, "#D55E00", "超过 15 分钟", "more than 15 min"),
)
UNREACHABLE = Band(math.nan, "#000000", "无法到达（附近没有）", "unreachable (none within reach)")
ALL_BANDS = (*BANDS, UNREACHABLE)
GAP_COLOR = "#CC79A7"
#: living-circle score classes (lower bound, fill): darker where fewer requirements are met
SCORE_CLASSES = ((0.8, "#f7f7f7"), (0.6, "#cccccc"), (0.4, "#969696"), (0.0, "#525252"))


def band_of(minutes: NDArray[np.float64]) -> NDArray[np.intp]:
    """Index into :data:`ALL_BANDS` per time (the last one where nothing is reachable)."""
    uppers = np.array([b.upper for b in BANDS[:-1]])
    idx = np.searchsorted(uppers, minutes, side="left")
    return np.where(np.isfinite(minutes), idx, len(BANDS)).astype(np.intp)


def home_radius(
    population: NDArray[np.float64], top: float, low: float = 0.0
) -> NDArray[np.float64]:
    """Marker radius in pixels: area grows with residents, 3 to 16 px (5 px if all equal)."""
    if top <= low * 1.5:  # every home alike (street nodes, one resident each)
        return np.full(len(population), 5.0)
    return 3 + 13 * np.sqrt(np.clip(population, 0, None) / max(top, 1e-9))


def score_color(score: float) -> str:
    """The fill of a living-circle score class (white where unknown)."""
    if not math.isfinite(score):
        return "#ffffff"
    return next(c for low, c in SCORE_CLASSES if score >= low)
