"""Helpers around a test SeaweedFS (single node or cluster): credentials, settings, a raw
boto3 client, test files."""

from __future__ import annotations

import hashlib
import itertools
import os
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config as BotoConfig

from testbeds.errors import ServerError
from testbeds.seaweed_cluster import SeaweedCluster
from testbeds.seaweedfs import SeaweedServer, find_weed
from uplink.settings import ObjectStoreSettings

ACCESS_KEY = "evgw-test-access"
SECRET_KEY = "evgw-test-secret-0123456789"

_bucket_numbers = itertools.count(1)


def weed_available() -> str | None:
    """None when `weed` can run here, else why not (for pytest.skip)."""
    try:
        find_weed()
    except ServerError as e:
        return str(e)
    return None


def start_seaweed(data_dir: Path, **kwargs: Any) -> SeaweedServer:
    return SeaweedServer(data_dir, ACCESS_KEY, SECRET_KEY, **kwargs).start()


def start_cluster(root: Path, **kwargs: Any) -> SeaweedCluster:
    """1 master (replication 001), 3 volume servers, filer and S3, with the test credentials."""
    return SeaweedCluster(root, ACCESS_KEY, SECRET_KEY, **kwargs).start()


def unique_bucket(prefix: str = "evidence") -> str:
    """A bucket name no other test of this session uses."""
    return f"{prefix}-{os.getpid()}-{next(_bucket_numbers)}"


def settings_for(
    server: SeaweedServer | SeaweedCluster, bucket: str, **overrides: Any
) -> ObjectStoreSettings:
    base: dict[str, Any] = {
        "endpoint_url": server.endpoint_url,
        "bucket": bucket,
        "access_key": ACCESS_KEY,
        "secret_key": SECRET_KEY,
        "credentials_source": "tests/support/seaweed.py ACCESS_KEY / SECRET_KEY",
    }
    base.update(overrides)
    return ObjectStoreSettings(**base)


def raw_client(
    server: SeaweedServer | SeaweedCluster, access_key: str = ACCESS_KEY, secret: str = SECRET_KEY
) -> Any:
    """A plain boto3 client with the gateway's credentials (for attacks and baselines)."""
    return boto3.client(
        "s3",
        endpoint_url=server.endpoint_url,
        region_name="us-east-1",
        aws_access_key_id=access_key,
        aws_secret_access_key=secret,
        config=BotoConfig(retries={"max_attempts": 1}, s3={"addressing_style": "path"}),
    )


def random_file(path: Path, size: int) -> str:
    """Write `size` random bytes to `path`; return their SHA-256 hex."""
    data = os.urandom(size)
    path.write_bytes(data)
    return hashlib.sha256(data).hexdigest()


def upload_section(
    server: SeaweedServer | SeaweedCluster, bucket: str, secret: str = SECRET_KEY, **more: object
) -> str:
    lines = [
        "[upload]",
        f'endpoint_url = "{server.endpoint_url}"',
        f'bucket = "{bucket}"',
        f'access_key = "{ACCESS_KEY}"',
        f'secret_key = "{secret}"',
        "retention_days = 1",
    ]
    lines += [f"{k} = {v}" for k, v in more.items()]
    return "\n".join(lines) + "\n"
