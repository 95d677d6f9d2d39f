"""The boto3 S3 client for one store, set up once for every reader and writer of the bucket.

The gateway's uploader and the archive's catalogue reach the same store with the same
timeouts, TLS trust (`ca_file`), path-style addressing and credentials; building the client
in one place keeps them from drifting apart.
"""

from __future__ import annotations

from typing import Any

import boto3
from botocore.config import Config as BotoConfig

from .settings import ObjectStoreSettings


def make_client(settings: ObjectStoreSettings) -> Any:
    """A thread-safe boto3 client; botocore retries little, the callers own retrying."""
    config = BotoConfig(
        region_name=settings.region,
        connect_timeout=settings.connect_timeout,
        read_timeout=settings.read_timeout,
        retries={"max_attempts": settings.max_attempts, "mode": "standard"},
        max_pool_connections=settings.max_connections,
        request_checksum_calculation="when_required",
        response_checksum_validation="when_required",
        # Our x-amz-checksum-sha256 covers the body; hashing it again to sign is waste.
        s3={"addressing_style": "path", "payload_signing_enabled": False},
    )
    return boto3.session.Session().client(
        "s3",
        endpoint_url=settings.endpoint_url,
        aws_access_key_id=settings.access_key or None,
        aws_secret_access_key=settings.secret_key or None,
        verify=settings.ca_file or True,
        config=config,
    )
