"""The in-memory tree gives the same roots and consistency proofs as `segments.merkle`."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from segments.merkle import (
    EMPTY_ROOT,
    consistency_proof_from_leaf_hashes,
    leaf_hash,
    root_from_leaf_hashes,
    verify_consistency,
)
from segments.merkle_tree import MerkleTree

LEAVES = [leaf_hash(str(i).encode()) for i in range(70)]
TREE = MerkleTree(LEAVES)


def test_every_prefix_root_and_proof_match_the_reference() -> None:
    for n in range(len(LEAVES) + 1):
        assert TREE.root(n) == root_from_leaf_hashes(LEAVES[:n])
        for m in range(n + 1):
            proof = TREE.consistency_proof(m, n)
            assert proof == consistency_proof_from_leaf_hashes(m, LEAVES[:n]), (m, n)
            old = TREE.root(m) if m else b""
            assert verify_consistency(m, n, old, TREE.root(n), proof) or m == 0


@given(st.integers(0, 300), st.data())
def test_random_sizes_match(n: int, data: st.DataObject) -> None:
    leaves = [leaf_hash(i.to_bytes(4, "big")) for i in range(n)]
    tree = MerkleTree(leaves)
    m = data.draw(st.integers(0, n))
    assert tree.root(n) == root_from_leaf_hashes(leaves)
    assert tree.consistency_proof(m, n) == consistency_proof_from_leaf_hashes(m, leaves)


def test_sizes_outside_the_tree_are_refused() -> None:
    assert MerkleTree([]).root(0) == EMPTY_ROOT
    with pytest.raises(ValueError, match="size 71 outside a tree of 70 leaves"):
        TREE.root(71)
    with pytest.raises(ValueError, match=r"old size 5 outside 0\.\.4"):
        TREE.consistency_proof(5, 4)
