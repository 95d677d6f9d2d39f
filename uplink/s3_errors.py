"""What a failed S3 call means for the upload queue: retry, alarm, or report tamper.

botocore's exceptions become `uplink.errors` classes, decided by the store's error code and
HTTP status, never by message text; each message names the store, the bucket and the fix.
"""

from __future__ import annotations

from botocore.exceptions import ClientError, HTTPClientError, SSLError
from botocore.exceptions import ConnectionError as BotoConnectionError

from .errors import (
    AuthError,
    RetentionError,
    StoreUnavailable,
    TlsError,
    UploadError,
    UploadMismatch,
)
from .settings import ObjectStoreSettings

_AUTH_CODES = frozenset(
    {
        "AccessDenied",
        "InvalidAccessKeyId",
        "SignatureDoesNotMatch",
        "Forbidden",
        "403",
        "InvalidToken",
        "ExpiredToken",
    }
)
_DIGEST_CODES = frozenset(
    {"BadDigest", "InvalidDigest", "XAmzContentSHA256Mismatch", "InvalidChecksum"}
)
_BUSY_CODES = frozenset(
    {"SlowDown", "ServiceUnavailable", "InternalError", "RequestTimeout", "Throttling"}
)
MISSING_CODES = frozenset({"404", "NoSuchKey", "NotFound", "NoSuchVersion"})


def store_error(
    s: ObjectStoreSettings, e: Exception, action: str, key: str = "", *, retention: bool = False
) -> UploadError:
    """The `uplink.errors` class the upload queue decides by, with a message saying what to do."""
    what = f"{action} {key}".strip() + f" ({s.endpoint_url}, bucket {s.bucket})"
    if isinstance(e, SSLError):
        return TlsError(
            f"TLS failed while {what}: {e}; check {s.section} ca_file "
            f"({s.ca_file or 'system CAs'}) and the store's certificate"
        )
    if isinstance(e, BotoConnectionError | HTTPClientError):
        return StoreUnavailable(f"central store unreachable while {what}: {e}; will retry")
    if not isinstance(e, ClientError):
        return UploadError(f"failed while {what}: {e}")
    code, status = error_code(e), _status(e)
    if code in _DIGEST_CODES:
        return UploadMismatch(
            f"store refused the SHA-256 we sent while {what} ({code}): the bytes it "
            "received differ from our hash"
        )
    if code in _AUTH_CODES or status == 403:
        return AuthError(
            f"central store denied {action} {key} ({code}) for access key "
            f"{_redact(s.access_key)} at {s.endpoint_url}: check {s.credentials_source} "
            "and the key's permissions on bucket "
            f"{s.bucket}; uploads stay queued"
        )
    if code in _BUSY_CODES or status >= 500:
        return StoreUnavailable(f"central store failed while {what} ({code}); will retry")
    if code == "NoSuchBucket":
        return UploadError(
            f"bucket {s.bucket} does not exist at {s.endpoint_url}: create it with object "
            f"lock or fix {s.section} bucket"
        )
    if retention and code in ("InvalidRequest", "InvalidArgument"):
        return RetentionError(
            f"store refused COMPLIANCE retention while {what} ({code}: {e}); "
            "check the bucket's object lock"
        )
    return UploadError(f"store refused {what} ({code}): {e}")


def error_code(e: ClientError) -> str:
    return str(e.response.get("Error", {}).get("Code", ""))


def _status(e: ClientError) -> int:
    return int(e.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0))


def _redact(access_key: str) -> str:
    return f"{access_key[:4]}…" if access_key else "(none)"
