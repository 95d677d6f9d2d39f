"""Which H.264 encoder makes a burn-in camera's picture: the configured one, or libx264.

A hardware encoder needs its device and its own way in. VA-API and Quick Sync take frames
uploaded to a DRM render node as nv12 (PyAV uploads them when the stream has a `hwaccel`, as
`format=nv12,hwupload` would); V4L2 memory-to-memory and NVENC take frames from memory and
open their device themselves (a /dev/video* m2m node, an NVIDIA GPU). When the codec is not in
this FFmpeg build, or its device is missing or refuses to open, the camera records with
libx264 at the configured preset and the `EncoderChoice` says why: the recorder signs that in
a `camera` record (`encoder_fallback`), so the evidence says which encoder made the picture,
and the camera's health carries it to an alarm.
"""

from __future__ import annotations

import glob
from fractions import Fraction
from typing import cast

import av
import av.container
import av.error
from av.codec.hwaccel import HWAccel

from .encoder_choice import EncoderChoice, encoder_device
from .plan import SOFTWARE_ENCODER, EncodeSettings

HWACCEL = {"h264_vaapi": "vaapi", "h264_qsv": "qsv"}
"""Encoders fed frames uploaded to their device: its FFmpeg device type."""


class EncoderUnavailable(Exception):
    """The configured encoder cannot encode here; the message says why."""


def choose_encoder(settings: EncodeSettings, width: int, height: int) -> EncoderChoice:
    """Open the configured encoder once for this picture size; libx264 when it will not."""
    wanted = settings.codec
    if wanted == SOFTWARE_ENCODER:
        return EncoderChoice(wanted, wanted)
    try:
        _try_open(settings, width, height)
    except EncoderUnavailable as e:
        return EncoderChoice(wanted, SOFTWARE_ENCODER, str(e))
    return EncoderChoice(wanted, wanted)


def add_video_stream(
    out: av.container.OutputContainer,
    codec: str,
    settings: EncodeSettings,
    width: int,
    height: int,
    time_base: Fraction,
    gop: int,
) -> av.VideoStream:
    """The stream a segment's frames are encoded into, set up for `codec`."""
    if codec == SOFTWARE_ENCODER:
        options = {"preset": settings.preset, "crf": str(settings.crf)}
        stream = cast(av.VideoStream, out.add_stream(codec, options=options))
        stream.pix_fmt = "yuv420p"
        stream.codec_context.thread_type = "FRAME"  # as the ffmpeg CLI's libx264
    else:
        hwaccel = _hwaccel(settings)
        stream = cast(av.VideoStream, out.add_stream(codec, hwaccel=hwaccel))
        stream.pix_fmt = "nv12"  # uploaded frames' format; what m2m and NVENC take too
    stream.width, stream.height = width, height
    stream.time_base = time_base
    stream.codec_context.time_base = time_base
    stream.codec_context.gop_size = gop
    return stream


def _try_open(settings: EncodeSettings, width: int, height: int) -> None:
    codec = settings.codec
    if codec not in av.codecs_available:
        raise EncoderUnavailable(f"{codec} is not in this FFmpeg build")
    device = encoder_device(settings)
    if not glob.glob(device):
        raise EncoderUnavailable(f"no device {device}")
    try:
        context = av.CodecContext.create(codec, "w", hwaccel=_hwaccel(settings))
        assert isinstance(context, av.VideoCodecContext)
        context.width, context.height, context.pix_fmt = width, height, "nv12"
        context.time_base = Fraction(1, 90000)
        context.open()
    except (av.error.FFmpegError, ValueError, OSError, RuntimeError) as e:
        raise EncoderUnavailable(f"{codec} did not open on {device}: {_describe(e)}") from e


def _hwaccel(settings: EncodeSettings) -> HWAccel | None:
    kind = HWACCEL.get(settings.codec)
    return None if kind is None else HWAccel(kind, encoder_device(settings))


def _describe(e: BaseException) -> str:
    if isinstance(e, av.error.FFmpegError):
        return e.strerror or type(e).__name__
    return str(e) or type(e).__name__
