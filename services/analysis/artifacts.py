"""What an analysis computed that a later re-run can reuse, and how it is kept as named blobs.

The expensive parts of an analysis are the transcription and the voice embeddings. ``Artifacts``
holds both, as the pipeline produced them (before speakers were assigned), so the speaker
separation can run again with another speaker count without touching the audio
(``services.jobs.rediarize``). They are stored as bytes in the database (``task_artifacts``), so any
worker on any machine can re-run a task; ``to_files``/``from_files`` convert:

- ``transcript.json``: the ``Transcript`` (language, model, engine, duration, segments with words);
- ``embeddings.npz``: the ``SpeechEmbeddings`` (``np.savez`` of speech, windows, vectors, duration, channels);
  absent when the diarizer computes no reusable embeddings (pyannote);
- ``time_base.json``: for recordings whose silence was cut before the analysis (``services.analysis.trim``),
  the kept spans, so a re-run maps its times back to the original recording the same way.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from services.errors import RerunNotPossible
from services.schema import Segment, Transcript

if TYPE_CHECKING:  # the diarization stack (SciPy) loads only where embeddings are read back
    from services.analysis.diarization.diarize import SpeechEmbeddings

TRANSCRIPT = "transcript.json"
EMBEDDINGS = "embeddings.npz"
TIME_BASE = "time_base.json"


@dataclass(frozen=True)
class TimeBase:
    """Where the analysed (trimmed) audio came from in the original recording (``services.analysis.trim``)."""

    spans: tuple[tuple[float, float], ...]
    original_duration: float
    edge: float = 0.0


@dataclass(frozen=True)
class Artifacts:
    """The transcript and voice embeddings of one analysis, timed on the audio that was analysed."""

    transcript: Transcript
    embeddings: SpeechEmbeddings | None = None
    time_base: TimeBase | None = None

    def to_files(self) -> dict[str, bytes]:
        """Named blobs to store."""
        files = {TRANSCRIPT: json.dumps(_transcript_dict(self.transcript), ensure_ascii=False).encode()}
        if self.embeddings is not None:
            files[EMBEDDINGS] = _npz(self.embeddings)
        if self.time_base is not None:
            tb = self.time_base
            files[TIME_BASE] = json.dumps(
                {"spans": [list(s) for s in tb.spans], "original_duration": tb.original_duration, "edge": tb.edge}
            ).encode()
        return files

    @classmethod
    def from_files(cls, files: dict[str, bytes]) -> Artifacts:
        """The artifacts stored as ``files``.

        Raises:
            RerunNotPossible: the transcript is not among them, or a blob cannot be read.
        """
        if TRANSCRIPT not in files:
            raise RerunNotPossible(
                "This task's transcript was not saved, so it cannot be re-run without starting over."
            )
        try:
            transcript = _transcript(json.loads(files[TRANSCRIPT]))
            embeddings = _embeddings(files[EMBEDDINGS]) if EMBEDDINGS in files else None
            time_base = None
            if TIME_BASE in files:
                data = json.loads(files[TIME_BASE])
                time_base = TimeBase(
                    spans=tuple((float(a), float(b)) for a, b in data["spans"]),
                    original_duration=float(data["original_duration"]),
                    edge=float(data.get("edge", 0.0)),
                )
        except (ValueError, KeyError, TypeError, OSError) as exc:
            raise RerunNotPossible(
                f"The saved analysis of this task cannot be read ({exc}); run it again from the start."
            ) from exc
        return cls(transcript=transcript, embeddings=embeddings, time_base=time_base)


def _transcript_dict(t: Transcript) -> dict[str, Any]:
    return {
        "language": t.language,
        "duration": t.duration,
        "model": t.model,
        "engine": t.engine,
        "segments": [s.to_dict() for s in t.segments],
        "detected_language": t.detected_language,
    }


def _transcript(data: dict[str, Any]) -> Transcript:
    return Transcript(
        language=str(data["language"]),
        segments=tuple(Segment.from_dict(s) for s in data["segments"]),
        duration=float(data["duration"]),
        model=str(data.get("model", "")),
        engine=str(data.get("engine", "")),
        detected_language=str(data["detected_language"]) if data.get("detected_language") else None,
    )


def _npz(e: SpeechEmbeddings) -> bytes:
    out = io.BytesIO()
    e.to_npz(out)
    return out.getvalue()


def _embeddings(blob: bytes) -> SpeechEmbeddings:
    from services.analysis.diarization.diarize import SpeechEmbeddings

    return SpeechEmbeddings.from_npz(io.BytesIO(blob))
