"""What a result says about its languages, for the task page: the languages heard and a notice
when the model could not have transcribed them.

An English-only model (``tiny.en``) writes any speech as English words: German comes back as
nonsense. ``AnalysisResult.detected_language`` says so (``services.analysis.asr.transcribe``): the
language the multilingual ``base`` model heard in a few windows when it is installed, else
``UNDETERMINED`` when ``tiny.en``'s own words gave it away (``services.analysis.asr.unfamiliar``);
that cannot name the language, so the notice says "may".
"""

from __future__ import annotations

from services.analysis.languages import UNDETERMINED, is_english_only, language_name
from services.schema import AnalysisResult

MULTILINGUAL_MODEL = "base"


def languages_label(result: AnalysisResult) -> str:
    """ "English" or "English, German": the languages of the segments by name."""
    return ", ".join(language_name(code) for code in result.languages)


def language_notice(result: AnalysisResult) -> str | None:
    """What to tell the analyst when the transcript is probably not in the language spoken; else None."""
    if not is_english_only(result.model):
        return None
    if result.detected_language == UNDETERMINED:
        return (
            f"Much of this recording does not sound like English to {result.model}, which knows only "
            "English: it may be in another language, and those parts of the transcript are nonsense. For "
            f"other languages, set WHISPER_MODEL_SIZE={MULTILINGUAL_MODEL} (README, Languages) and analyse it "
            "again with Language Auto."
        )
    if result.detected_language and result.detected_language != "en":
        name = language_name(result.detected_language)
        return (
            f"This recording seems to be (at least partly) in {name}, but it was transcribed with "
            f"{result.model}, which knows only English: those parts are English-sounding nonsense. "
            f"Set WHISPER_MODEL_SIZE={MULTILINGUAL_MODEL} and analyse it again with Language Auto or {name}."
        )
    return None
