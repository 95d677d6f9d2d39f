from collections.abc import Iterator

import pytest

from tests.segments.recorder_rig import close_sources


@pytest.fixture(autouse=True)
def _sources_closed_after_the_recorder() -> Iterator[None]:
    yield
    close_sources()
