"""The languages Whisper knows, by code and name, without loading any model (the web processes read it).

The list is Whisper's own (``whisper.tokenizer.LANGUAGES``, the 99 languages of the multilingual
models up to ``large-v2``; ``tests/test_languages.py`` checks it against faster-whisper's). English-only
models (names ending ``.en``) know only ``en``.
"""

from __future__ import annotations

AUTO = "auto"
"""The choice "detect the language" (stored as no language at all)."""
UNDETERMINED = "und"
"""ISO 639's "undetermined": not English, but which language is not known (an English-only model's
words gave it away; no multilingual model listened)."""

WHISPER_LANGUAGES: dict[str, str] = {
    "en": "English",
    "zh": "Chinese",
    "de": "German",
    "es": "Spanish",
    "ru": "Russian",
    "ko": "Korean",
    "fr": "French",
    "ja": "Japanese",
    "pt": "Portuguese",
    "tr": "Turkish",
    "pl": "Polish",
    "ca": "Catalan",
    "nl": "Dutch",
    "ar": "Arabic",
    "sv": "Swedish",
    "it": "Italian",
    "id": "Indonesian",
    "hi": "Hindi",
    "fi": "Finnish",
    "vi": "Vietnamese",
    "he": "Hebrew",
    "uk": "Ukrainian",
    "el": "Greek",
    "ms": "Malay",
    "cs": "Czech",
    "ro": "Romanian",
    "da": "Danish",
    "hu": "Hungarian",
    "ta": "Tamil",
    "no": "Norwegian",
    "th": "Thai",
    "ur": "Urdu",
    "hr": "Croatian",
    "bg": "Bulgarian",
    "lt": "Lithuanian",
    "la": "Latin",
    "mi": "Maori",
    "ml": "Malayalam",
    "cy": "Welsh",
    "sk": "Slovak",
    "te": "Telugu",
    "fa": "Persian",
    "lv": "Latvian",
    "bn": "Bengali",
    "sr": "Serbian",
    "az": "Azerbaijani",
    "sl": "Slovenian",
    "kn": "Kannada",
    "et": "Estonian",
    "mk": "Macedonian",
    "br": "Breton",
    "eu": "Basque",
    "is": "Icelandic",
    "hy": "Armenian",
    "ne": "Nepali",
    "mn": "Mongolian",
    "bs": "Bosnian",
    "kk": "Kazakh",
    "sq": "Albanian",
    "sw": "Swahili",
    "gl": "Galician",
    "mr": "Marathi",
    "pa": "Punjabi",
    "si": "Sinhala",
    "km": "Khmer",
    "sn": "Shona",
    "yo": "Yoruba",
    "so": "Somali",
    "af": "Afrikaans",
    "oc": "Occitan",
    "ka": "Georgian",
    "be": "Belarusian",
    "tg": "Tajik",
    "sd": "Sindhi",
    "gu": "Gujarati",
    "am": "Amharic",
    "yi": "Yiddish",
    "lo": "Lao",
    "uz": "Uzbek",
    "fo": "Faroese",
    "ht": "Haitian Creole",
    "ps": "Pashto",
    "tk": "Turkmen",
    "nn": "Nynorsk",
    "mt": "Maltese",
    "sa": "Sanskrit",
    "lb": "Luxembourgish",
    "my": "Myanmar",
    "bo": "Tibetan",
    "tl": "Tagalog",
    "mg": "Malagasy",
    "as": "Assamese",
    "tt": "Tatar",
    "haw": "Hawaiian",
    "ln": "Lingala",
    "ha": "Hausa",
    "ba": "Bashkir",
    "jw": "Javanese",
    "su": "Sundanese",
}
"""Code -> English name, in Whisper's order (by the amount of training data, English first)."""


def language_name(code: str | None) -> str:
    """The English name of a language code (the code itself when unknown, "" for none)."""
    if not code:
        return ""
    if code == UNDETERMINED:
        return "another language"
    return WHISPER_LANGUAGES.get(code, code)


def is_english_only(model_name: str) -> bool:
    """True for Whisper's English-only models (``tiny.en``, ``base.en``, ...)."""
    return model_name.endswith(".en")


def language_choices() -> list[str]:
    """What a language picker offers: ``auto``, English, then every other language by name."""
    others = sorted((code for code in WHISPER_LANGUAGES if code != "en"), key=lambda code: WHISPER_LANGUAGES[code])
    return [AUTO, "en", *others]


def choice_label(code: str) -> str:
    """A picker's label: "Auto (detect)" or the language's name."""
    return "Auto (detect)" if code == AUTO else language_name(code)
