"""Which encoder made a burn-in camera's picture, as a record says it: light, no PyAV.

The recorder signs a `camera` record (reason `encoder_fallback`) when the configured encoder
could not be used; its extra holds `facts()`. The camera process reads it back from that
record to raise the alarm, so health says exactly what the ledger says.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

ENCODER_FALLBACK = "encoder_fallback"


@dataclass(frozen=True)
class EncoderChoice:
    """The encoder asked for and the one used; `reason` says why they differ (None: same)."""

    wanted: str
    used: str
    reason: str | None = None

    @property
    def fell_back(self) -> bool:
        return self.used != self.wanted

    def facts(self) -> dict[str, object]:
        """What the signed `camera` record and the event say about a fallback."""
        return {"wanted": self.wanted, "used": self.used, "why": self.reason}

    @classmethod
    def from_facts(cls, facts: Mapping[str, object]) -> EncoderChoice:
        why = facts.get("why")
        return cls(
            str(facts.get("wanted")), str(facts.get("used")), None if why is None else str(why)
        )

    def describe(self) -> str:
        return f"{self.wanted} unavailable ({self.reason}); recording with {self.used}"
