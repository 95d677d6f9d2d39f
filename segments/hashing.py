"""The one file hasher: size and SHA-256 of a file, as fast as the disk allows.

Sealed segments are tens of megabytes and are hashed on sealing, recovery, upload, eviction,
verification and export; one reader serves them all so a speed-up or a fix lands everywhere.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

BLOCK = 4 << 20
"""Large reads: hashlib releases the GIL for each block, so other threads run meanwhile."""
_MIN_BLOCK = 64 << 10


def hash_file(path: Path) -> tuple[int, str]:
    """(size in bytes, SHA-256 hex) of the file at `path`; OSError if it cannot be read.

    Reads into one buffer, reused for every block, and tells the kernel the access is
    sequential (read-ahead) where the platform supports it.
    """
    with open(path, "rb", buffering=0) as f:
        fd = f.fileno()
        if hasattr(os, "posix_fadvise"):
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_SEQUENTIAL)
        buf = bytearray(min(BLOCK, max(_MIN_BLOCK, os.fstat(fd).st_size)))
        view = memoryview(buf)
        h = hashlib.sha256()
        size = 0
        while n := f.readinto(buf):
            h.update(view[:n])
            size += n
    return size, h.hexdigest()
