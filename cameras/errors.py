"""Error root for the cameras package: discovery, ONVIF and RTSP input."""

from evgw.errors import EvgwError


class CameraError(EvgwError):
    """Base of every error raised by `cameras`; the message says what to do next."""


class StreamError(CameraError):
    """An RTSP stream could not be opened or stopped delivering packets."""

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


class NetworkSetupError(CameraError):
    """This box cannot use the camera network as configured (interface, address, multicast)."""

    exit_code = 2
