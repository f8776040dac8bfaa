"""What a user can choose for one analysis, validated without loading any model or SciPy.

The web processes (the API, the Analyze page) check these on every upload, so this module imports
only the standard library; the diarization stack reads them later, in the worker.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from services.analysis.languages import AUTO, WHISPER_LANGUAGES, is_english_only, language_name
from services.errors import InvalidOptions

SPEAKER_LIMIT = 20
"""The most speakers a user may ask for (the API, the Analyze page, the re-run form, the CLI)."""
MAX_PARTS = 8
"""At most this many people in one split speaker (the estimate's own upper bound, ``clustering.MAX_SPEAKERS``)."""


@dataclass(frozen=True)
class SpeakerOptions:
    """What the user knows about the number of speakers."""

    num_speakers: int | None = None
    min_speakers: int | None = None
    max_speakers: int | None = None

    def __post_init__(self) -> None:
        labels = {"num_speakers": "number of speakers", "min_speakers": "minimum number of speakers",
                  "max_speakers": "maximum number of speakers"}  # fmt: skip
        for name, label in labels.items():
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
                raise ValueError(f"The {label} must be a whole number, not {value!r}.")
            if value is not None and value < 1:
                raise ValueError(f"The {label} must be at least 1.")
        lo, hi, n = self.min_speakers, self.max_speakers, self.num_speakers
        if lo is not None and hi is not None and lo > hi:
            raise ValueError(f"The minimum number of speakers ({lo}) is above the maximum ({hi}).")
        if n is not None and lo is not None and n < lo:
            raise ValueError(f"The number of speakers ({n}) is below the minimum ({lo}).")
        if n is not None and hi is not None and n > hi:
            raise ValueError(f"The number of speakers ({n}) is above the maximum ({hi}).")

    def bounds(self, default_max: int) -> tuple[int, int]:
        """(min, max) count for the estimate; ``default_max`` when the user set no maximum."""
        lo = self.min_speakers or 1
        hi = self.max_speakers or max(default_max, lo)
        return lo, hi


@dataclass(frozen=True)
class AnalysisOptions:
    """What a user can choose for one analysis.

    ``language``: a Whisper language code (``de``), or None to detect it; ``"auto"``, upper case and
    spaces are accepted and normalised (``parse_language``).
    """

    num_speakers: int | None = None
    min_speakers: int | None = None
    max_speakers: int | None = None
    language: str | None = None

    def __post_init__(self) -> None:
        try:
            self.speaker_options()
        except ValueError as exc:
            raise InvalidOptions(str(exc)) from exc
        object.__setattr__(self, "language", parse_language(self.language))

    def speaker_options(self) -> SpeakerOptions:
        return SpeakerOptions(self.num_speakers, self.min_speakers, self.max_speakers)

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None}

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> AnalysisOptions:
        data = data or {}
        counts = {k: (int(v) if v is not None else None) for k, v in data.items() if k in _OPTION_FIELDS}
        return cls(**counts, language=data.get("language"))


_OPTION_FIELDS = ("num_speakers", "min_speakers", "max_speakers")


def parse_language(value: object) -> str | None:
    """A Whisper language code from what a user typed, or None for "detect it".

    Accepts a code (``de``), its English name (``German``), ``auto`` or nothing, in any case.

    Raises:
        InvalidOptions: not a language Whisper knows.
    """
    if value is None:
        return None
    text = str(value).strip().lower()
    if text in ("", AUTO):
        return None
    if text in WHISPER_LANGUAGES:
        return text
    for code, name in WHISPER_LANGUAGES.items():
        if name.lower() == text:
            return code
    shown = str(value)[:40]
    raise InvalidOptions(
        f"Unknown language {shown!r}: use a Whisper language code such as en, de, fr or es "
        "(or its English name), or auto to detect it."
    )


def check_language_for_model(language: str | None, model_size: str) -> None:
    """Refuse, before any work, a language the configured model cannot transcribe.

    Raises:
        InvalidOptions: another language than English with an English-only model (``tiny.en``).
    """
    if language not in (None, "en") and is_english_only(model_size):
        raise InvalidOptions(
            f"The configured Whisper model {model_size!r} knows only English, so it cannot transcribe "
            f"{language_name(language)}. Ask the administrator to set WHISPER_MODEL_SIZE=base (multilingual), "
            "or choose Auto or English."
        )
