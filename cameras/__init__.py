"""Camera side: RTSP input, reconnect policy, health counters, frozen-picture detection,
WS-Discovery (`discovery`) and ONVIF queries (`onvif_client`)."""

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
