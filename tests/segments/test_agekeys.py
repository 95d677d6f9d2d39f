"""Loading an age identity file: the keys, or one clear error naming the file."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from segments.agekeys import generate_identity, load_identities
from segments.errors import KeyFileError, SegmentError


def test_an_age_keygen_file_loads(tmp_path: Path) -> None:
    (first, first_pub), (second, _) = generate_identity(), generate_identity()
    path = tmp_path / "archive.key"
    path.write_text(f"# created: today\n# public key: {first_pub}\n{first}\n\n{second}\n")
    identities = load_identities(path)
    assert [str(i) for i in identities] == [first, second]
    assert str(identities[0].recipient()) == first_pub


def test_an_absent_file_names_the_path_and_what_to_pass(tmp_path: Path) -> None:
    path = tmp_path / "absent.key"
    with pytest.raises(KeyFileError) as caught:
        load_identities(path)
    message = str(caught.value)
    assert str(path) in message and "No such file" in message and "age-keygen" in message
    assert caught.value.exit_code == 2 and isinstance(caught.value, SegmentError)


@pytest.mark.parametrize(
    "content",
    [b"", b"# only a comment\n", b"age1notasecret\n", b"AGE-SECRET-KEY-1QQQ\n", b"\xff\xfe\n"],
)
def test_a_file_without_a_usable_key_is_one_clear_error(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "bad.key"
    path.write_bytes(content)
    with pytest.raises(KeyFileError, match=str(path)):
        load_identities(path)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=300))
def test_any_bytes_give_identities_or_key_file_error(
    tmp_path_factory: pytest.TempPathFactory, content: bytes
) -> None:
    path = tmp_path_factory.mktemp("id") / "x.key"
    path.write_bytes(content)
    try:
        assert load_identities(path)
    except KeyFileError as e:
        assert str(path) in str(e)
