"""What a result says about its languages, for the task page: the languages heard and a notice
when the model could not have transcribed them.

An English-only model (``tiny.en``) writes any speech as English words: German comes back as
confident-looking nonsense. Two signals tell us:

- ``AnalysisResult.detected_language``: the multilingual ``base`` model, when installed, checked a
  few windows and heard another language (``services.analysis.asr.language_plan.foreign_language``);
- without ``base``, the recogniser's own doubt: a large share of the speech in segments whose words
  it was unsure of (``DOUBTFUL_MEAN_PROBABILITY``). That cannot name the language, and hard-to-hear
  English can look the same, so the notice says "may".
"""

from __future__ import annotations

from services.analysis.languages import is_english_only, language_name
from services.schema import AnalysisResult

DOUBTFUL_MEAN_PROBABILITY = 0.6
"""A segment whose words average below this probability is doubtful. Measured with ``tiny.en``: the
German half of ``multilingual.mp3`` averaged 0.34-0.62 per segment, its English half 0.98, and
``sample.wav``, ``dev00.wav``, ``dev01.wav``, ``jfk.flac`` had no segment below 0.6."""
DOUBTFUL_SHARE = 0.25
"""The share of transcribed time in doubtful segments above which the page warns (the same quarter
as ``language_plan.FOREIGN_SHARE``; ``multilingual.mp3`` is half German)."""
MULTILINGUAL_MODEL = "base"


def languages_label(result: AnalysisResult) -> str:
    """ "English" or "English, German": the languages of the segments by name."""
    return ", ".join(language_name(code) for code in result.languages)


def doubtful_share(result: AnalysisResult) -> float:
    """The share (0..1) of transcribed time in segments whose words the recogniser was unsure of."""
    total = doubtful = 0.0
    for seg in result.segments:
        if not seg.words:
            continue
        length = max(0.0, seg.end - seg.start)
        total += length
        if sum(w.probability for w in seg.words) / len(seg.words) < DOUBTFUL_MEAN_PROBABILITY:
            doubtful += length
    return doubtful / total if total > 0 else 0.0


def language_notice(result: AnalysisResult) -> str | None:
    """What to tell the analyst when the transcript is probably not in the language spoken; else None."""
    if not is_english_only(result.model):
        return None
    if result.detected_language and result.detected_language != "en":
        name = language_name(result.detected_language)
        return (
            f"This recording seems to be (at least partly) in {name}, but it was transcribed with "
            f"{result.model}, which knows only English: those parts are English-sounding nonsense. "
            f"Set WHISPER_MODEL_SIZE={MULTILINGUAL_MODEL} and analyse it again with Language Auto or {name}."
        )
    if doubtful_share(result) >= DOUBTFUL_SHARE:
        return (
            f"Much of this recording was transcribed with low confidence by {result.model}, which knows only "
            "English: it may be in another language (or hard to hear). For other languages, set "
            f"WHISPER_MODEL_SIZE={MULTILINGUAL_MODEL} (README, Languages) and analyse it again with Language Auto."
        )
    return None
