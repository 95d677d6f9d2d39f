"""The pure judges of record and checkpoint bytes: hostile bytes give a finding, never an
exception; a genuine record or checkpoint passes; every refusal says why."""

from __future__ import annotations

import json
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from central.findings import BAD_SIGNATURE, MISPLACED, UNPARSABLE, Finding
from central.sync.checkpoints import judge_checkpoint
from central.sync.object_names import ObjectName, parse_key
from central.sync.records import Accepted, judge_record
from segments.checkpoint import Checkpoint
from segments.ledger import sign
from segments.records import GENESIS_PREV, Record
from segments.signing import Ed25519Signer, generate_signing_key
from segments.trust import TrustedKeys
from tests.segments.sealed_stream import SIGNER

KEY = "s/gw-1/cam1/2027/01/15/00000003_20270115T080000Z.json"
CHECKPOINT_KEY = "s/gw-1/cam1/checkpoints/00000004.json"
TRUST = TrustedKeys(origin="test", subjects={"gw-1": (SIGNER.verifier(),)})
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)


def name(key: str) -> ObjectName:
    parsed = parse_key(key)
    assert parsed is not None
    return parsed


def record(seq: int = 3, signer: Ed25519Signer = SIGNER, gateway: str = "gw-1") -> bytes:
    draft = Record(
        stream="cam1", seq=seq, kind="gap", start="2027-01-15T08:00:00+00:00",
        end="2027-01-15T08:00:02+00:00", gateway=gateway, site="s", location="l",
        camera="cam1", camera_name="c", boot_id="b",
    )  # fmt: skip
    return sign(draft.with_chain(seq, GENESIS_PREV, signer.alg, signer.key_id), signer).to_json()


def test_a_genuine_record_is_accepted() -> None:
    judged = judge_record(record(), name(KEY), TRUST)
    assert isinstance(judged, Accepted) and judged.record.seq == 3


def test_refusals_say_why(tmp_path: Path) -> None:
    other = generate_signing_key(tmp_path / "other.ed25519")
    cases = {
        BAD_SIGNATURE: record(signer=other),
        MISPLACED: record(seq=4),
        UNPARSABLE: json.dumps(json.loads(record()), indent=1).encode(),
    }
    for kind, data in cases.items():
        judged = judge_record(data, name(KEY), TRUST)
        assert isinstance(judged, Finding) and judged.kind == kind, kind
        assert (judged.gateway, judged.stream, judged.seq, judged.key) == ("gw-1", "cam1", 3, KEY)


def test_a_checkpoint_is_read_where_its_key_says() -> None:
    good = Checkpoint("cam1", "gw-1", 4, "00" * 32, "2027-01-15T08:00:00+00:00").signed_by(SIGNER)
    assert judge_checkpoint(good.to_json(), name(CHECKPOINT_KEY)) == good
    moved = Checkpoint("cam2", "gw-1", 4, "00" * 32, "2027-01-15T08:00:00+00:00")
    judged = judge_checkpoint(moved.to_json(), name(CHECKPOINT_KEY))
    assert isinstance(judged, Finding) and judged.kind == MISPLACED
    timeless = Checkpoint("cam1", "gw-1", 4, "00" * 32, "yesterday")
    judged = judge_checkpoint(timeless.to_json(), name(CHECKPOINT_KEY))
    assert isinstance(judged, Finding) and judged.kind == UNPARSABLE


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=2000) | JSON.map(lambda v: json.dumps(v).encode()))
def test_hostile_bytes_are_findings(data: bytes) -> None:
    for judged in (
        judge_record(data, name(KEY), TRUST),
        judge_checkpoint(data, name(CHECKPOINT_KEY)),
    ):
        assert isinstance(judged, Finding) and judged.kind in (UNPARSABLE, MISPLACED)


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.sampled_from(sorted(json.loads(record()))), JSON, max_size=6))
def test_records_with_hostile_fields_are_findings(changes: dict[str, object]) -> None:
    mutated = {**json.loads(record()), **changes}
    data = json.dumps(mutated, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    judged = judge_record(data, name(KEY), TRUST)
    assert isinstance(judged, Finding | Accepted)
    if isinstance(judged, Accepted):
        assert judged.line == record()
