"""Frozen is not still: tells a stuck camera from a scene where nothing moves.

Frame counters cannot see a frozen camera (it still sends 25 fps of the same image), and a
picture that does not change is not enough either: a seized-goods room can stay motionless for
hours. What differs is the sensor. A live sensor adds fresh temporal noise to every frame, so
full-resolution pixels never repeat bit for bit; a stuck camera (decoder repeating its last
frame, encoder fed the same buffer) repeats them exactly. The detector is pure: the caller
feeds `(wall time, PictureSample)` about once a second (or once per keyframe) and reads:

- motion: a grid cell moved by `motion_level` grey levels or more since the first picture of
  the current still run (comparing with the run's start, not the previous sample, lets a slow
  drift such as dawn light add up and end the run). The top and bottom eighth are left out:
  cameras draw their clock and name there (ONVIF's OSD positions UpperLeft .. LowerRight), and
  a ticking clock is neither motion nor life; a clock drawn mid-picture reads as motion;
- life: at least `life_tiles` full-resolution tiles differ in any pixel from the previous
  picture (one tile may hold a ticking OSD clock or a small moving object);
- `frozen` once neither was seen for `frozen_after_s`; `scene_still` (information, never an
  alarm) once no motion was seen for that long while the sensor stayed alive.

Measured with libx264 at 720p (`python -m tests.bench.bench_freeze --scenes`):
- an encoder fed one frame again and again decodes to bit-identical pictures in CRF mode once
  its rate control settles (6..8 s: until then each IDR comes out a little different), so a
  stuck camera is reported within frozen_after_s plus that settling;
- a still scene with sensor noise (sigma 1.5) differs in 60..90 % of tile pixels (1..5 % in a
  starved 250 kbit/s stream); with CRF its P-frames skip the noise, so life may show only once
  per GOP, which is why the timer runs from the last sign of life, not the last pair;
- x264 in CBR mode keeps spending bits on an identical picture and its pictures change every
  second (60 s measured at 500 kbit/s): such a stuck camera reads as a still scene, a missed
  alarm, never a false one. Inter-frame packet sizes do not tell the cases apart either (with
  CRF and CBR both medians are 47..77 bytes: faint noise is skipped like a repeated frame);
- noise and quantisation move a grid cell by at most 17 grey levels, a 10-pixel ball by 110+.
Cost per picture (shared 2-core box, noisy): grid 250..400 us at 720p (as much as the former
64x36 thumbnail: swscale reads the whole plane either way), tiles 35..60 us, update 35..80 us.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .picture import PictureSample

MOTION_LEVEL = 20.0  # grey levels on one grid cell (0..255)
LIFE_TILES = 3  # tiles that must differ for the sensor to count as alive
OSD_BAND = 1 / 8  # of the height, at the top and at the bottom: not looked at for motion
UNIFORM_SPREAD = 6  # grid cells all this close are one colour: lens cap, black or blue screen


@dataclass(frozen=True)
class FreezeState:
    frozen: bool  # no motion and no sensor noise for frozen_after_s: the camera is stuck
    scene_still: bool  # no motion for frozen_after_s, but the sensor is alive (information)
    still_for_s: float  # since the last motion (0.0 on a moved sample)
    stuck_for_s: float  # since the last motion or sign of life
    score: float  # largest grid-cell difference to the still run's first picture (0..255)
    live_tiles: int  # tiles that differ from the previous picture
    uniform: bool  # the picture is a single flat colour (reported, never an alarm by itself)
    moved: bool = False  # this picture moved (a first picture only starts the still run)


class FreezeDetector:
    """Judges each picture: moving, still but alive (`scene_still`), or stuck (`frozen`)."""

    def __init__(
        self,
        frozen_after_s: float,
        motion_level: float = MOTION_LEVEL,
        life_tiles: int = LIFE_TILES,
    ) -> None:
        if frozen_after_s <= 0 or motion_level <= 0 or life_tiles < 1:
            raise ValueError("frozen_after_s, motion_level and life_tiles must be positive")
        self.frozen_after_s = frozen_after_s
        self.motion_level = motion_level
        self.life_tiles = life_tiles
        self._reference: PictureSample | None = None
        self._previous: PictureSample | None = None
        self._since = self._alive = self._last_ts = 0.0

    def reset(self) -> None:
        """Forget the picture (call on reconnect: a new connection is not evidence of a freeze)."""
        self._reference = self._previous = None

    def update(self, ts: float, picture: PictureSample) -> FreezeState:
        uniform = int(picture.grid.max()) - int(picture.grid.min()) <= UNIFORM_SPREAD
        ref, prev = self._reference, self._previous
        if ref is None or prev is None or _shape(ref) != _shape(picture) or ts < self._last_ts:
            self._moved(ts, picture)
            return FreezeState(False, False, 0.0, 0.0, 0.0, 0, uniform)
        self._last_ts, self._previous = ts, picture
        band = round(len(picture.grid) * OSD_BAND)
        rows = slice(band, len(picture.grid) - band)
        score = float(np.abs(ref.grid[rows].astype(np.int16) - picture.grid[rows]).max())
        live = int(np.count_nonzero((prev.tiles != picture.tiles).any(axis=(1, 2))))
        moved = score >= self.motion_level
        if moved:
            self._moved(ts, picture)
        elif live >= (min(self.life_tiles, len(picture.tiles)) or 1):
            self._alive = ts
        still, stuck = ts - self._since, ts - self._alive
        frozen = stuck >= self.frozen_after_s
        scene_still = not frozen and still >= self.frozen_after_s
        return FreezeState(frozen, scene_still, still, stuck, score, live, uniform, moved)

    def _moved(self, ts: float, picture: PictureSample) -> None:
        self._reference = self._previous = picture
        self._since = self._alive = self._last_ts = ts


def _shape(picture: PictureSample) -> tuple[tuple[int, ...], tuple[int, ...]]:
    return picture.grid.shape, picture.tiles.shape
