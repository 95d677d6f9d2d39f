"""RFC 6962 Merkle tree over ledger records: tree heads, inclusion and consistency proofs.

A signed checkpoint (size, root) makes a cut-off tail or rewritten history detectable, and
an export proves that a subset of records belongs to the log. Pure functions only; the
0x00/0x01 prefixes keep a leaf from ever being passed off as an interior node.
Generation is O(n) per call and iterative, so 100k-record ledgers need no deep recursion;
verification follows RFC 9162 §2.1.3.2 and §2.1.4.2 step by step.
"""

import hashlib
from collections.abc import Callable, Sequence
from functools import partial

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()


def leaf_hash(data: bytes) -> bytes:
    """MTH({d}) = SHA-256(0x00 || d)."""
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """Interior node: SHA-256(0x01 || left || right)."""
    return hashlib.sha256(b"\x01" + left + right).digest()


class MerkleAccumulator:
    """Tree head of an append-only log, kept as the O(log n) stack of perfect subtree roots.

    The gateway appends one record at a time; this gives the current root without keeping
    or rehashing every leaf.
    """

    __slots__ = ("_size", "_stack")

    def __init__(self) -> None:
        self._size = 0
        self._stack: list[bytes] = []

    @property
    def size(self) -> int:
        return self._size

    def append(self, leaf: bytes) -> None:
        """Add one *leaf hash* (see `leaf_hash`) at the right edge."""
        if len(leaf) != HASH_SIZE:
            raise ValueError(f"leaf hash must be {HASH_SIZE} bytes, got {len(leaf)}")
        merged = leaf
        size = self._size
        # Each trailing 1 bit of the old size is a perfect subtree the new leaf completes.
        while size & 1:
            merged = node_hash(self._stack.pop(), merged)
            size >>= 1
        self._stack.append(merged)
        self._size += 1

    def root(self) -> bytes:
        """MTH of everything appended so far (SHA-256("") for an empty log)."""
        if not self._stack:
            return EMPTY_ROOT
        result = self._stack[-1]
        for left in reversed(self._stack[:-1]):
            result = node_hash(left, result)
        return result


def _subtree_root(hashes: Sequence[bytes], lo: int, hi: int) -> bytes:
    """MTH(D[lo:hi]) from leaf hashes, in O(hi - lo) without recursion."""
    acc = MerkleAccumulator()
    for i in range(lo, hi):
        acc.append(hashes[i])
    return acc.root()


def split(n: int) -> int:
    """k: the largest power of two strictly less than n (n >= 2)."""
    return 1 << ((n - 1).bit_length() - 1)


def root_from_leaf_hashes(hashes: Sequence[bytes]) -> bytes:
    """MTH(D[n]) given the leaf hashes."""
    return _subtree_root(hashes, 0, len(hashes))


def root(leaves: Sequence[bytes]) -> bytes:
    """MTH(D[n]) of RFC 6962 §2.1 over leaf *data*."""
    return root_from_leaf_hashes([leaf_hash(d) for d in leaves])


def inclusion_proof_from_leaf_hashes(index: int, hashes: Sequence[bytes]) -> list[bytes]:
    """PATH(m, D[n]) of RFC 6962 §2.1.1, audit path ordered leaf to root."""
    n = len(hashes)
    if not 0 <= index < n:
        raise ValueError(f"leaf index {index} outside a tree of size {n}")
    path: list[bytes] = []
    lo, hi = 0, n
    while hi - lo > 1:
        k = split(hi - lo)
        if index - lo < k:
            path.append(_subtree_root(hashes, lo + k, hi))
            hi = lo + k
        else:
            path.append(_subtree_root(hashes, lo, lo + k))
            lo += k
    path.reverse()
    return path


def inclusion_proof(index: int, leaves: Sequence[bytes]) -> list[bytes]:
    """PATH(m, D[n]) over leaf *data*."""
    return inclusion_proof_from_leaf_hashes(index, [leaf_hash(d) for d in leaves])


def consistency_proof_from_leaf_hashes(m: int, hashes: Sequence[bytes]) -> list[bytes]:
    """PROOF(m, D[n]) of RFC 6962 §2.1.2; empty when m is 0 or n (nothing to prove)."""
    return consistency_path(m, len(hashes), partial(_subtree_root, hashes))


def consistency_path(m: int, n: int, subtree_root: Callable[[int, int], bytes]) -> list[bytes]:
    """PROOF(m, D[0:n]) with MTH(D[lo:hi]) from `subtree_root(lo, hi)`: from the leaf hashes
    here, from stored subtrees in `merkle_tree.MerkleTree`; same walk, same bytes."""
    if not 0 <= m <= n:
        raise ValueError(f"old size {m} outside 0..{n}")
    if m in (0, n):
        return []
    proof: list[bytes] = []
    lo, hi, sub_m, complete = 0, n, m, True
    # SUBPROOF(m, D[lo:hi], complete) unrolled: every step appends after the recursive part,
    # so the hashes are collected innermost-last and reversed at the end.
    while sub_m != hi - lo:
        k = split(hi - lo)
        if sub_m <= k:
            proof.append(subtree_root(lo + k, hi))
            hi = lo + k
        else:
            proof.append(subtree_root(lo, lo + k))
            lo += k
            sub_m -= k
            complete = False
    if not complete:
        proof.append(subtree_root(lo, hi))
    proof.reverse()
    return proof


def consistency_proof(m: int, leaves: Sequence[bytes]) -> list[bytes]:
    """PROOF(m, D[n]) over leaf *data*."""
    return consistency_proof_from_leaf_hashes(m, [leaf_hash(d) for d in leaves])


def _well_formed(*hashes: bytes) -> bool:
    return all(isinstance(h, bytes) and len(h) == HASH_SIZE for h in hashes)


def verify_inclusion(
    leaf: bytes, index: int, tree_size: int, proof: Sequence[bytes], expected_root: bytes
) -> bool:
    """True iff `proof` shows leaf hash `leaf` at `index` in the tree of `tree_size` leaves."""
    # (1) The index must lie inside the tree; every hash must be SHA-256 sized.
    if not 0 <= index < tree_size or not _well_formed(leaf, expected_root, *proof):
        return False
    # (2) fn walks the leaf's position, sn the tree's last position, up the levels.
    fn, sn = index, tree_size - 1
    r = leaf
    for p in proof:
        # (3) A proof longer than the path is rejected.
        if sn == 0:
            return False
        # (4) Sibling on the left when fn is a right child or the right edge's odd node.
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while fn and not fn & 1:
                fn >>= 1
                sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    # (5) The proof must reach the root exactly and match it.
    return sn == 0 and r == expected_root


def verify_consistency(
    m: int, n: int, root_m: bytes, root_n: bytes, proof: Sequence[bytes]
) -> bool:
    """True iff `proof` shows the tree of size m (root_m) is a prefix of size n (root_n)."""
    # (0) Trivial cases: sizes out of order; equal sizes need equal roots and no proof;
    #     the empty tree is a prefix of every tree.
    if not 0 <= m <= n:
        return False
    if m == n:
        return not proof and _well_formed(root_m, root_n) and root_m == root_n
    if m == 0:
        return not proof
    # (1) A real extension always needs a non-empty proof of SHA-256 sized hashes.
    if not proof or not _well_formed(root_m, root_n, *proof):
        return False
    # (2) When m is a power of two, the old root is itself a node of the new tree.
    path = list(proof)
    if m & (m - 1) == 0:
        path.insert(0, root_m)
    # (3) fn walks the last old leaf, sn the last new leaf; skip levels where the old
    #     tree's last node is a right child already accounted for by the seed.
    fn, sn = m - 1, n - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    # (4) Seed both roots with the first node and fold in the rest.
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            while fn and not fn & 1:
                fn >>= 1
                sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    # (5) Both reconstructed roots must match and the path must reach the top.
    return sn == 0 and fr == root_m and sr == root_n
