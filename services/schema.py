"""The data every stage passes on: words, segments, speaker turns and the one result schema.

All of these are frozen dataclasses so a stage can never change what an earlier stage produced;
pure steps return new objects instead. ``AnalysisResult.to_dict`` gives the JSON that is stored in
the task table, exported, and returned by the CLI and the API (docs/ARCHITECTURE.md).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any

SAMPLE_RATE = 16_000
"""Every stage works on 16 kHz mono float32 audio; ``services.analysis.audio`` converts to it."""


@dataclass(frozen=True)
class Word:
    """One recognised word with its time span in seconds."""

    start: float
    end: float
    word: str
    probability: float = 1.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "start": round(self.start, 3),
            "end": round(self.end, 3),
            "word": self.word,
            "probability": round(self.probability, 4),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Word:
        return cls(
            start=float(data["start"]),
            end=float(data["end"]),
            word=str(data["word"]),
            probability=float(data.get("probability", 1.0)),
        )


@dataclass(frozen=True)
class Segment:
    """A stretch of transcript, optionally attributed to a speaker.

    ``edited`` is True when a person corrected the text or the speaker (``services.results.edits``); the
    machine's own segments never carry it, and ``to_dict`` writes the key only when it is True.
    ``overlap`` names the other speakers who talk during this segment (its words are the dominant
    speaker's); ``to_dict`` writes it only when there are any. ``language`` is the Whisper code of the
    language it was transcribed in (None in results stored before languages were recorded).
    """

    start: float
    end: float
    text: str
    words: tuple[Word, ...] = ()
    speaker: str | None = None
    edited: bool = False
    overlap: tuple[str, ...] = ()
    language: str | None = None

    def with_speaker(self, speaker: str | None) -> Segment:
        return replace(self, speaker=speaker)

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "start": round(self.start, 3),
            "end": round(self.end, 3),
            "speaker": self.speaker,
            "text": self.text,
            "words": [w.to_dict() for w in self.words],
        }
        if self.edited:
            data["edited"] = True
        if self.overlap:
            data["overlap"] = list(self.overlap)
        if self.language:
            data["language"] = self.language
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Segment:
        return cls(
            start=float(data["start"]),
            end=float(data["end"]),
            text=str(data.get("text", "")),
            words=tuple(Word.from_dict(w) for w in data.get("words") or ()),
            speaker=data.get("speaker"),
            edited=bool(data.get("edited", False)),
            overlap=tuple(str(s) for s in data.get("overlap") or ()),
            language=str(data["language"]) if data.get("language") else None,
        )


@dataclass(frozen=True)
class SpeakerCount:
    """How sure the speaker count is: the count chosen, the next most likely one, and whether it is close.

    ``close`` is True when the runner-up is nearly as likely as the chosen count
    (``services.analysis.diarization.clustering.CLOSE_MARGIN``), so a person may want to re-run with it.
    """

    chosen: int
    runner_up: int | None = None
    close: bool = False

    def settled(self, found: int) -> SpeakerCount:
        """This count when ``found`` speakers ended up with turns (a cluster can lose all its frames)."""
        if found == self.chosen:
            return self
        runner = self.runner_up if self.runner_up != found else None
        return SpeakerCount(found, runner, self.close and runner is not None)

    def to_dict(self) -> dict[str, Any]:
        return {"chosen": self.chosen, "runner_up": self.runner_up, "close": self.close}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SpeakerCount:
        runner = data.get("runner_up")
        return cls(int(data["chosen"]), int(runner) if runner is not None else None, bool(data.get("close", False)))


@dataclass(frozen=True)
class SpeakerTurn:
    """A stretch of time in which one speaker talks (turns of two speakers may overlap)."""

    start: float
    end: float
    speaker: str

    @property
    def duration(self) -> float:
        return self.end - self.start

    def to_dict(self) -> dict[str, Any]:
        return {"start": round(self.start, 3), "end": round(self.end, 3), "speaker": self.speaker}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SpeakerTurn:
        return cls(start=float(data["start"]), end=float(data["end"]), speaker=str(data["speaker"]))


@dataclass(frozen=True)
class Transcript:
    """What the speech recogniser heard, before speakers are assigned.

    ``language`` is the main language (of the most speech); each segment carries its own.
    ``detected_language`` is what language detection heard most when it ran although the model could
    not transcribe it (an English-only model on German speech), or ``"und"`` (undetermined) when only the
    English-only model's own words told (``services.analysis.asr.unfamiliar``); None when it agrees.
    """

    language: str
    segments: tuple[Segment, ...]
    duration: float
    model: str = ""
    engine: str = ""
    detected_language: str | None = None

    @property
    def words(self) -> tuple[Word, ...]:
        return tuple(w for s in self.segments for w in s.words)

    @property
    def text(self) -> str:
        return join_text(s.text for s in self.segments)


@dataclass(frozen=True)
class Speaker:
    """One speaker of a result: a stable id, a display name and the seconds they talk."""

    id: str
    name: str
    talk_time: float

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "talk_time": round(self.talk_time, 3)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Speaker:
        return cls(
            id=str(data["id"]),
            name=str(data.get("name") or data["id"]),
            talk_time=float(data.get("talk_time", 0.0)),
        )


@dataclass(frozen=True)
class AnalysisResult:
    """The one result schema: who said what, when."""

    duration: float
    language: str
    model: str
    speakers: tuple[Speaker, ...]
    segments: tuple[Segment, ...]
    turns: tuple[SpeakerTurn, ...] = ()
    timings: dict[str, float] = field(default_factory=dict)
    engine: str = ""
    diarization: str = ""
    speaker_count: SpeakerCount | None = None
    detected_language: str | None = None

    @property
    def text(self) -> str:
        return join_text(s.text for s in self.segments)

    @property
    def languages(self) -> tuple[str, ...]:
        """The languages of the segments, in order of first appearance (the result's language when none say)."""
        seen = dict.fromkeys(s.language or self.language for s in self.segments)
        return tuple(code for code in seen if code) or ((self.language,) if self.language else ())

    def speaker_name(self, speaker_id: str | None) -> str:
        """The display name of a speaker id (the id itself when unnamed or unknown)."""
        if speaker_id is None:
            return ""
        for speaker in self.speakers:
            if speaker.id == speaker_id:
                return speaker.name
        return speaker_id

    def to_dict(self) -> dict[str, Any]:
        return {
            "duration": round(self.duration, 3),
            "language": self.language,
            "model": self.model,
            "engine": self.engine,
            "diarization": self.diarization,
            "speakers": [s.to_dict() for s in self.speakers],
            "segments": [s.to_dict() for s in self.segments],
            "turns": [t.to_dict() for t in self.turns],
            "text": self.text,
            "timings": {k: round(v, 3) for k, v in self.timings.items()},
            "speaker_count": self.speaker_count.to_dict() if self.speaker_count else None,
            "languages": list(self.languages),
            "detected_language": self.detected_language,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AnalysisResult:
        return cls(
            duration=float(data.get("duration", 0.0)),
            language=str(data.get("language", "")),
            model=str(data.get("model", "")),
            speakers=tuple(Speaker.from_dict(s) for s in data.get("speakers") or ()),
            segments=tuple(Segment.from_dict(s) for s in data.get("segments") or ()),
            turns=tuple(SpeakerTurn.from_dict(t) for t in data.get("turns") or ()),
            timings={k: float(v) for k, v in (data.get("timings") or {}).items()},
            engine=str(data.get("engine", "")),
            diarization=str(data.get("diarization", "")),
            speaker_count=SpeakerCount.from_dict(data["speaker_count"]) if data.get("speaker_count") else None,
            detected_language=str(data["detected_language"]) if data.get("detected_language") else None,
        )


def join_text(parts: Iterable[str]) -> str:
    """Join transcript pieces with single spaces, whatever spacing each piece carries."""
    return " ".join(p.strip() for p in parts if p and p.strip())
