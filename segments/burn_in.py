"""Burn-in mode's picture path: decode the camera's packets, draw the overlay into the frames.

The overlay is built at the first frame of a connection (its size and pixel format come from
the camera), and Pillow and numpy load only then: passthrough recorders never import them.
The encoder is chosen at the first segment of a connection (`encoders.choose_encoder`): a
hardware encoder that went away is noticed at the next reconnect, one that came back too.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import av
import av.error

from .encoder_choice import EncoderChoice
from .encoders import choose_encoder
from .overlay.text import OverlaySpec
from .plan import EncodeSettings

if TYPE_CHECKING:
    from .overlay.drawing import Overlay

log = logging.getLogger(__name__)

LOG_EVERY = 1000  # undecodable packets: the first is logged, then one line per this many


class BurnIn:
    def __init__(
        self,
        overlay: OverlaySpec,
        tz: ZoneInfo,
        font_path: str | None,
        camera: str,
        encode: EncodeSettings,
    ) -> None:
        self._spec = overlay
        self._tz = tz
        self._font_path = font_path
        self._camera = camera
        self._encode = encode
        self._overlay: Overlay | None = None
        self._encoder: EncoderChoice | None = None
        self.undecodable = 0

    def connect(self) -> None:
        """A new connection may bring another picture size: the next frame builds the overlay
        and chooses the encoder again."""
        self._overlay = None
        self._encoder = None

    def encoder(self, frame: av.VideoFrame) -> EncoderChoice:
        """The encoder for this connection's segments, tried on frames like `frame`."""
        if self._encoder is None:
            self._encoder = choose_encoder(self._encode, frame.width, frame.height)
            if self._encoder.fell_back:
                log.warning("%s: %s", self._camera, self._encoder.describe())
        return self._encoder

    def decode(self, video: av.VideoStream, packet: av.Packet | None) -> list[av.VideoFrame]:
        """Frames `packet` completes (None flushes); an undecodable packet is skipped, counted
        and logged once per `LOG_EVERY`, so a corrupt stream cannot flood the journal."""
        try:
            return list(video.codec_context.decode(packet))
        except av.error.InvalidDataError as e:
            self.undecodable += 1
            if self.undecodable % LOG_EVERY == 1:
                log.warning(
                    "%s: undecodable packet skipped (%d so far): %s",
                    self._camera, self.undecodable, e,
                )  # fmt: skip
            return []

    def draw(self, frame: av.VideoFrame, wall: float) -> Callable[[], None]:
        """Draw the overlay into the decoder's own frame; returns the undo, for once the
        encoder has taken the frame (see `Overlay.apply_borrowed`)."""
        if self._overlay is None:
            from .overlay.drawing import Overlay

            self._overlay = Overlay.open(
                self._spec,
                self._tz,
                width=frame.width,
                height=frame.height,
                pix_fmt=frame.format.name,
                font_path=self._font_path,
            )
        return self._overlay.apply_borrowed(frame, wall)
