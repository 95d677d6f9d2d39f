"""Camera side: RTSP input, reconnect policy and health counters (ONVIF discovery later)."""

from .backoff import Backoff
from .errors import CameraError, StreamError
from .health import CameraHealth, HealthCounter
from .rtsp import RtspStream, StreamSettings

__all__ = [
    "Backoff",
    "CameraError",
    "CameraHealth",
    "HealthCounter",
    "RtspStream",
    "StreamError",
    "StreamSettings",
]
