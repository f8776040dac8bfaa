"""How sure the analysis is of the number of speakers, as the result records it, in words for a person.

The analysis adds ``speaker_count`` to its result: ``{"chosen": int, "runner_up": int | None,
"close": bool}`` (the count it chose, the next most likely one, and whether that one was nearly as
likely). Results made before it existed, or by a backend that has no second guess, lack it; then
nothing is said. Anything malformed is treated as absent: the page never fails on it.
"""

from __future__ import annotations

from typing import Any, TypeGuard

from services.schema import SpeakerCount

KEY = "speaker_count"


def recorded(result: dict[str, Any] | None) -> SpeakerCount | None:
    """The count recorded in a stored result dict, or None when there is none (or it is malformed)."""
    data = (result or {}).get(KEY)
    if not isinstance(data, dict):
        return None
    chosen, runner_up, close = data.get("chosen"), data.get("runner_up"), data.get("close", False)
    if not _count(chosen) or not (runner_up is None or _count(runner_up)) or not isinstance(close, bool):
        return None
    return SpeakerCount(chosen=chosen, runner_up=runner_up if runner_up != chosen else None, close=close)


def alternative(count: SpeakerCount) -> int | None:
    """The other count worth a re-run: the runner-up when it was nearly as likely, else None."""
    return count.runner_up if count.close else None


def describe(count: SpeakerCount) -> str:
    """E.g. "3 speakers; 4 is nearly as likely." or "3 speakers; no other count came close."."""
    found = f"{count.chosen} speaker{'' if count.chosen == 1 else 's'}"
    other = alternative(count)
    if other is None:
        return f"{found}; no other count came close."
    return f"{found}; {other} is nearly as likely."


def _count(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 100
