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


class MalformedMessageError(CameraError):
    """A message from the camera network was oversized, not XML, carried a DTD, nested too
    deep or lacked required fields: rejected, counted and logged, never fatal."""


class OnvifError(CameraError):
    """An ONVIF query failed."""


class OnvifAuthError(OnvifError):
    """The camera refused the credentials (or our clock-corrected timestamp)."""


class OnvifFaultError(OnvifError):
    """The camera answered with a SOAP fault."""


class OnvifTimeoutError(OnvifError):
    """The camera did not answer in time."""


class OnvifReplyError(OnvifError):
    """The camera's reply was malformed, oversized or hostile, or lacked what we need."""


class OnvifConnectionError(OnvifError):
    """The camera's ONVIF service could not be reached."""


class OnvifTlsError(OnvifError):
    """An https ONVIF service's certificate is not the pinned one or not trusted."""


class OsdRefusedError(OnvifError):
    """The camera cannot or will not show the OSD asked for (unsupported, or read back
    otherwise than set): reported, never fatal to recording."""
