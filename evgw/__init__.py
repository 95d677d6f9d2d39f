"""The base every evgw package may import: the error root, the version, the retry backoff.

It imports none of our packages, so `gateway`, `central`, `segments`, `cameras`, `uplink` and
`testbeds` can all derive their errors from `EvgwError` without importing one another.
"""

from .errors import EvgwError, UsageError

__version__ = "0.1.0"

__all__ = ["EvgwError", "UsageError", "__version__"]
