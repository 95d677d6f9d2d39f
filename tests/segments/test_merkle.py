"""RFC 6962 Merkle tree: published vectors, tamper probes and properties."""

import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from segments.merkle import (
    EMPTY_ROOT,
    MerkleAccumulator,
    consistency_proof,
    consistency_proof_from_leaf_hashes,
    inclusion_proof,
    inclusion_proof_from_leaf_hashes,
    leaf_hash,
    node_hash,
    root,
    root_from_leaf_hashes,
    verify_consistency,
    verify_inclusion,
)

# Test vectors copied from github.com/transparency-dev/merkle (Apache-2.0):
# testonly/constants.go (LeafInputs, RootHashes, NodeHashes) and proof/verify_test.go
# (inclusionProofs, consistencyProofs). They are the RFC 6962 vectors used by
# certificate-transparency-go and trillian.
LEAVES = [
    bytes.fromhex(h)
    for h in [
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    ]
]

# ROOTS[n] is the root of the tree over LEAVES[:n].
ROOTS = [
    bytes.fromhex(h)
    for h in [
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
        "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
        "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
    ]
]

LEAF_HASHES = [
    bytes.fromhex(h)
    for h in [
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
        "0298d122906dcfc10892cb53a73992fc5b9f493ea4c9badb27b791b4127a7fe7",
        "07506a85fd9dd2f120eb694f86011e5bb4662e5c415a62917033d4a9624487e7",
        "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        "4271a26be0d8a84f0bd54c8c302e7cb3a3b5d1fa6780a40bcce2873477dab658",
        "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
        "46f6ffadd3d06a09ff3c5860d2755c8b9819db7df44251788c7d8e3180de8eb1",
    ]
]


def _hx(*hexes: str) -> list[bytes]:
    return [bytes.fromhex(h) for h in hexes]


# (0-based leaf index, tree size, audit path); the source lists 1-based leaf numbers.
INCLUSION_VECTORS = [
    (0, 1, []),
    (
        0,
        8,
        _hx(
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ),
    ),
    (
        5,
        8,
        _hx(
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ),
    ),
    (2, 3, _hx("fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125")),
    (
        1,
        5,
        _hx(
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ),
    ),
]

# (old size, new size, consistency proof)
CONSISTENCY_VECTORS = [
    (1, 1, []),
    (
        1,
        8,
        _hx(
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ),
    ),
    (
        6,
        8,
        _hx(
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ),
    ),
    (
        2,
        5,
        _hx(
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ),
    ),
    (
        6,
        7,
        _hx(
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ),
    ),
]

SOME_HASH = bytes.fromhex("abacaba000000000000000000000000000000000000000000060061e00123456")


def test_leaf_hashes_match_vectors() -> None:
    assert [leaf_hash(d) for d in LEAVES] == LEAF_HASHES


def test_node_hash_prefix() -> None:
    assert node_hash(LEAF_HASHES[0], LEAF_HASHES[1]) == ROOTS[2]
    assert node_hash(b"a", b"b") == hashlib.sha256(b"\x01ab").digest()


@pytest.mark.parametrize("size", range(len(ROOTS)))
def test_roots_match_vectors(size: int) -> None:
    assert root(LEAVES[:size]) == ROOTS[size]
    assert root_from_leaf_hashes(LEAF_HASHES[:size]) == ROOTS[size]
    acc = MerkleAccumulator()
    for h in LEAF_HASHES[:size]:
        acc.append(h)
    assert acc.size == size
    assert acc.root() == ROOTS[size]


def test_empty_tree_root_is_sha256_of_nothing() -> None:
    assert root([]) == EMPTY_ROOT == hashlib.sha256(b"").digest()
    assert MerkleAccumulator().root() == EMPTY_ROOT


@pytest.mark.parametrize(("index", "size", "path"), INCLUSION_VECTORS)
def test_inclusion_vectors(index: int, size: int, path: list[bytes]) -> None:
    assert inclusion_proof(index, LEAVES[:size]) == path
    assert inclusion_proof_from_leaf_hashes(index, LEAF_HASHES[:size]) == path
    assert verify_inclusion(LEAF_HASHES[index], index, size, path, ROOTS[size])


def _inclusion_probes(
    index: int, size: int, path: list[bytes], good_root: bytes, leaf: bytes
) -> dict[str, tuple[bytes, int, int, list[bytes], bytes]]:
    """Tampered variants, after transparency-dev/merkle's corruptInclusionProof."""
    probes = {
        "index - 1": (leaf, index - 1, size, path, good_root),
        "index + 1": (leaf, index + 1, size, path, good_root),
        "index ^ 2": (leaf, index ^ 2, size, path, good_root),
        "size * 2": (leaf, index, size * 2, path, good_root),
        "size // 2": (leaf, index, size // 2, path, good_root),
        "wrong leaf": (leaf_hash(b"WrongLeaf"), index, size, path, good_root),
        "empty root": (leaf, index, size, path, EMPTY_ROOT),
        "random root": (leaf, index, size, path, SOME_HASH),
        "trailing garbage": (leaf, index, size, [*path, b""], good_root),
        "trailing root": (leaf, index, size, [*path, good_root], good_root),
        "preceding garbage": (leaf, index, size, [b"", *path], good_root),
        "preceding root": (leaf, index, size, [good_root, *path], good_root),
    }
    for i in range(len(path)):
        flipped = list(path)
        flipped[i] = bytes([flipped[i][0] ^ 8]) + flipped[i][1:]
        probes[f"flipped bit in path[{i}]"] = (leaf, index, size, flipped, good_root)
    if path:
        probes["removed component"] = (leaf, index, size, path[:-1], good_root)
    if len(path) > 1:
        inserted = [path[0], SOME_HASH, *path[1:]]
        probes["inserted component"] = (leaf, index, size, inserted, good_root)
    return probes


@pytest.mark.parametrize(("index", "size", "path"), INCLUSION_VECTORS)
def test_inclusion_rejects_tampering(index: int, size: int, path: list[bytes]) -> None:
    probes = _inclusion_probes(index, size, path, ROOTS[size], LEAF_HASHES[index])
    accepted = [name for name, args in probes.items() if verify_inclusion(*args)]
    assert accepted == []


def test_inclusion_rejects_out_of_range_and_empty_tree() -> None:
    for index, size in [(0, 0), (1, 0), (1, 1), (2, 1), (-1, 1)]:
        assert not verify_inclusion(SOME_HASH, index, size, [], EMPTY_ROOT)
        assert not verify_inclusion(EMPTY_ROOT, index, size, [], EMPTY_ROOT)
    with pytest.raises(ValueError, match="outside"):
        inclusion_proof(8, LEAVES)
    with pytest.raises(ValueError, match="outside"):
        inclusion_proof(0, [])


def test_single_leaf_tree_root_is_leaf_hash() -> None:
    h = leaf_hash(b"data")
    assert verify_inclusion(h, 0, 1, [], h)
    assert not verify_inclusion(h, 0, 1, [], b"")
    assert not verify_inclusion(b"", 0, 1, [], h)


@pytest.mark.parametrize(("m", "n", "proof"), CONSISTENCY_VECTORS)
def test_consistency_vectors(m: int, n: int, proof: list[bytes]) -> None:
    assert consistency_proof(m, LEAVES[:n]) == proof
    assert consistency_proof_from_leaf_hashes(m, LEAF_HASHES[:n]) == proof
    assert verify_consistency(m, n, ROOTS[m], ROOTS[n], proof)


def _consistency_probes(
    m: int, n: int, r1: bytes, r2: bytes, proof: list[bytes]
) -> dict[str, tuple[int, int, bytes, bytes, list[bytes]]]:
    """Tampered variants, after transparency-dev/merkle's corruptConsistencyProof."""
    probes = {
        "m - 1": (m - 1, n, r1, r2, proof),
        "m + 1": (m + 1, n, r1, r2, proof),
        "m ^ 2": (m ^ 2, n, r1, r2, proof),
        "n * 2": (m, n * 2, r1, r2, proof),
        "n // 2": (m, n // 2, r1, r2, proof),
        "wrong root1": (m, n, b"WrongRoot", r2, proof),
        "wrong root2": (m, n, r1, b"WrongRoot", proof),
        "swapped roots": (m, n, r2, r1, proof),
        "empty proof": (m, n, r1, r2, []),
        "trailing garbage": (m, n, r1, r2, [*proof, b""]),
        "trailing root1": (m, n, r1, r2, [*proof, r1]),
        "trailing root2": (m, n, r1, r2, [*proof, r2]),
        "preceding garbage": (m, n, r1, r2, [b"", *proof]),
        "preceding root1": (m, n, r1, r2, [r1, *proof]),
        "preceding root2": (m, n, r1, r2, [r2, *proof]),
        "preceding proof[0]": (m, n, r1, r2, [proof[0], *proof]),
        "truncated proof": (m, n, r1, r2, proof[:-1]),
    }
    for i in range(len(proof)):
        flipped = list(proof)
        flipped[i] = bytes([flipped[i][0] ^ 16]) + flipped[i][1:]
        probes[f"flipped bit in proof[{i}]"] = (m, n, r1, r2, flipped)
    return probes


@pytest.mark.parametrize(("m", "n", "proof"), [v for v in CONSISTENCY_VECTORS if v[2]])
def test_consistency_rejects_tampering(m: int, n: int, proof: list[bytes]) -> None:
    probes = _consistency_probes(m, n, ROOTS[m], ROOTS[n], proof)
    accepted = [name for name, args in probes.items() if verify_consistency(*args)]
    assert accepted == []


def test_consistency_trivial_cases() -> None:
    r1, r2 = b"don't care 1", b"don't care 2"
    e = EMPTY_ROOT
    assert verify_consistency(0, 0, e, e, [])
    assert verify_consistency(0, 1, r1, r2, [])
    assert verify_consistency(1, 1, ROOTS[1], ROOTS[1], [])
    assert not verify_consistency(0, 0, e, ROOTS[1], [])
    assert not verify_consistency(1, 1, ROOTS[1], ROOTS[2], [])
    assert not verify_consistency(1, 0, r1, r2, [])
    assert not verify_consistency(2, 1, r1, r2, [])
    assert not verify_consistency(1, 2, ROOTS[1], ROOTS[2], [])
    assert not verify_consistency(0, 0, e, e, [e])
    assert not verify_consistency(0, 1, e, e, [e])
    assert not verify_consistency(1, 1, e, e, [e])
    assert consistency_proof(0, LEAVES) == []
    assert consistency_proof(8, LEAVES) == []
    with pytest.raises(ValueError, match="outside"):
        consistency_proof(9, LEAVES)


def test_accumulator_rejects_non_hash() -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        MerkleAccumulator().append(b"record data, not its hash")


def test_large_tree_is_fast_enough() -> None:
    hashes = [hashlib.sha256(i.to_bytes(4, "big")).digest() for i in range(100_000)]
    head = root_from_leaf_hashes(hashes)
    path = inclusion_proof_from_leaf_hashes(77_777, hashes)
    assert len(path) == 17
    assert verify_inclusion(hashes[77_777], 77_777, len(hashes), path, head)
    proof = consistency_proof_from_leaf_hashes(65_537, hashes)
    old = root_from_leaf_hashes(hashes[:65_537])
    assert verify_consistency(65_537, len(hashes), old, head, proof)


leaf_lists = st.lists(st.binary(max_size=8), min_size=1, max_size=40)


@settings(max_examples=60, deadline=None)
@given(leaves=leaf_lists, data=st.data())
def test_every_inclusion_proof_verifies_and_binds(leaves: list[bytes], data: st.DataObject) -> None:
    n = len(leaves)
    head = root(leaves)
    index = data.draw(st.integers(0, n - 1))
    path = inclusion_proof(index, leaves)
    h = leaf_hash(leaves[index])
    assert verify_inclusion(h, index, n, path, head)
    assert not verify_inclusion(leaf_hash(leaves[index] + b"x"), index, n, path, head)
    other = data.draw(st.integers(0, n - 1).filter(lambda i: i != index) if n > 1 else st.none())
    if other is not None and leaves[other] != leaves[index]:
        assert not verify_inclusion(h, other, n, path, head)
    assert not verify_inclusion(h, index, n, path, root([*leaves, b"extra"]))


@settings(max_examples=20, deadline=None)
@given(n=st.integers(1, 40))
def test_consistency_proofs_verify_for_all_prefixes(n: int) -> None:
    leaves = [i.to_bytes(2, "big") for i in range(n)]
    hashes = [leaf_hash(d) for d in leaves]
    roots = [root_from_leaf_hashes(hashes[:m]) for m in range(n + 1)]
    for m in range(n + 1):
        proof = consistency_proof_from_leaf_hashes(m, hashes)
        assert verify_consistency(m, n, roots[m], roots[n], proof)
        if 0 < m < n:
            forged = root_from_leaf_hashes([leaf_hash(b"forged"), *hashes[1:m]])
            assert not verify_consistency(m, n, forged, roots[n], proof)


@settings(max_examples=40, deadline=None)
@given(leaves=st.lists(st.binary(max_size=4), max_size=70))
def test_accumulator_matches_root(leaves: list[bytes]) -> None:
    acc = MerkleAccumulator()
    for i, d in enumerate(leaves):
        assert acc.root() == root(leaves[:i])
        acc.append(leaf_hash(d))
    assert acc.size == len(leaves)
    assert acc.root() == root(leaves)
