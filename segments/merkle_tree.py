"""A whole RFC 6962 tree kept in memory, for roots and consistency proofs of many prefixes.

`segments.merkle` computes each root or proof from the leaf hashes in O(n); checking every
checkpoint of a long log that way costs O(n x checkpoints) (a year of one camera: 525,600
records and 52,560 checkpoints). Here every perfect subtree is hashed once (O(n)), and the
root of any prefix or any consistency proof is assembled from them in O(log^2 n). The
results are the same bytes as `segments.merkle`'s (tested against it), and are verified with
its `verify_consistency`.
"""

from __future__ import annotations

from collections.abc import Sequence

from .merkle import EMPTY_ROOT, consistency_path, node_hash, split


class MerkleTree:
    """Leaf hashes and every perfect subtree root above them; immutable once built."""

    def __init__(self, leaves: Sequence[bytes]) -> None:
        levels = [list(leaves)]
        while len(levels[-1]) > 1:
            below = levels[-1]
            levels.append([node_hash(below[i], below[i + 1]) for i in range(0, len(below) - 1, 2)])
        self._levels = levels

    @property
    def size(self) -> int:
        return len(self._levels[0])

    def root(self, size: int) -> bytes:
        """MTH(D[0:size]): the root a checkpoint of `size` records must hold."""
        self._check(size)
        return self._range(0, size)

    def consistency_proof(self, m: int, n: int) -> list[bytes]:
        """PROOF(m, D[0:n]) of RFC 6962 §2.1.2, as `merkle.consistency_proof_from_leaf_hashes`."""
        self._check(n)
        return consistency_path(m, n, self._range)

    def _range(self, lo: int, hi: int) -> bytes:
        """MTH(D[lo:hi]); an aligned power-of-two range is one stored node."""
        n = hi - lo
        if n == 0:
            return EMPTY_ROOT
        if n & (n - 1) == 0 and lo % n == 0:
            level = n.bit_length() - 1
            return self._levels[level][lo >> level]
        k = split(n)
        return node_hash(self._range(lo, lo + k), self._range(lo + k, hi))

    def _check(self, size: int) -> None:
        if not 0 <= size <= self.size:
            raise ValueError(f"size {size} outside a tree of {self.size} leaves")
