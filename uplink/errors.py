"""Error root for the uplink package: central object storage, MQTT and their settings.

The upload queue decides by class, never by message: `StoreUnavailable` and `TlsError`
are retried with backoff, `AuthError` keeps the backlog and raises an alarm,
`LocalHashMismatch` is reported as tamper, `UploadMismatch` is retried.
"""

from evgw.errors import EvgwError


class UplinkError(EvgwError):
    """Base of every error raised by `uplink`; the message says what to do next."""


class UploadError(UplinkError):
    """An object could not be stored or read back from central storage."""


class AuthError(UploadError):
    """The store rejected our credentials or denied the operation."""


class StoreUnavailable(UploadError):
    """The store cannot be reached or answered with a server error; retry later."""


class TlsError(UploadError):
    """The TLS handshake with the store failed (certificate or CA configuration)."""


class UploadMismatch(UploadError):
    """The store's checksum differs from ours: the object is not confirmed."""


class LocalHashMismatch(UploadMismatch):
    """The local file no longer matches the hash recorded when it was sealed (tamper)."""


class RetentionError(UploadError):
    """The object was stored but its COMPLIANCE retention could not be set or confirmed."""


class SettingsError(UplinkError):
    """Broker or store settings that cannot work; `key` names the setting at fault.

    Raised on construction, before any connection, so a bad setting stops the program at
    start: the configuration loader reports it against the file's key, `evgw monitor`
    against its arguments.
    """

    exit_code = 2

    def __init__(self, what: str, key: str, reason: str) -> None:
        super().__init__(f"invalid {what} {key}: {reason}")
        self.key = key
        self.reason = reason


class BrokerError(UplinkError):
    """The MQTT broker refused us (credentials, TLS): a configuration mistake to correct."""

    exit_code = 2


class BrokerUnreachable(BrokerError):
    """No broker answered: a failure of the moment (network, broker down), not of the settings."""

    exit_code = 3


class TsaError(UplinkError):
    """A time-stamping authority gave no token we can keep; the request stays queued."""


class TsaUnavailable(TsaError):
    """The TSA cannot be reached or answered with a server error; retry later."""


class TsaReplyRefused(TsaError):
    """The TSA answered, but not with a token for our request (nonce, imprint, signer)."""
