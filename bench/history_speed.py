"""History with 10,000 tasks: how long the page and a search take (docs/BENCHMARKS.md).

    python -m bench.history_speed [--tasks 10000] [--keep DIR]

Fills a fresh SQLite database (migrated like any other) with tasks whose results have realistic
sizes: recordings of a few minutes (log-normal, median 4 min), a segment every ~4.5 s of speech,
2.5 words a second, each word with its times and probability, as the worker stores them; words
follow a Zipf law over a 20,000-word vocabulary, so common words are everywhere and rare ones are
rare. A few tasks say "ask not what your country can do for you". Most tasks are completed; some
failed, cancelled, queued or running. Then it times the History page as Streamlit renders it
(AppTest, the whole script run), the same page with a search, and the queries behind them.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import insert, text
from streamlit.logger import set_log_level

from bench.corpus import JFK_TEXT, LICENSE_TEXT, STEREO_TEXT, normalize

PHRASE = "ask not what your country can do for you"
RARE_WORD = "jurisdiction"
SEGMENT_S = 4.5
WORDS_PER_S = 2.5
BATCH = 250


def vocabulary(rng: np.random.Generator, size: int = 20_000) -> list[str]:
    """The corpus's words first (the most frequent ranks), then made-up words from syllables."""
    words = list(dict.fromkeys(normalize(" ".join([JFK_TEXT, LICENSE_TEXT, *STEREO_TEXT.values()])).split()))
    syllables = [c + v for c in "bcdfghjklmnprstvwz" for v in "aeiou"] + ["ing", "er", "tion", "al", "ly"]
    seen = set(words) | {RARE_WORD}
    while len(words) < size:
        word = "".join(rng.choice(syllables, size=int(rng.integers(2, 4))))
        if word not in seen:
            seen.add(word)
            words.append(word)
    return words


def make_result(
    rng: np.random.Generator, words: list[str], duration: float, speakers: int, *, plant: str = ""
) -> dict[str, Any]:
    """A result in the one schema, as big as a real one of ``duration`` seconds."""
    segments = []
    n_segments = max(1, int(duration / SEGMENT_S))
    ranks = rng.zipf(1.15, size=int(duration * WORDS_PER_S) + 16) - 1
    ranks = ranks[ranks < len(words)]
    position = 0
    for i in range(n_segments):
        start = i * SEGMENT_S
        count = int(rng.integers(6, 16))
        tokens = [words[r] for r in ranks[position : position + count]] or ["hello"]
        position += count
        if plant and i == n_segments // 2:
            tokens = plant.split()
        step = (SEGMENT_S - 0.3) / len(tokens)
        segment_words = [
            {"start": round(start + j * step, 3), "end": round(start + (j + 0.8) * step, 3), "word": w,
             "probability": round(float(rng.uniform(0.5, 1.0)), 4)}
            for j, w in enumerate(tokens)
        ]  # fmt: skip
        segments.append(
            {
                "start": round(start, 3),
                "end": round(start + SEGMENT_S - 0.3, 3),
                "speaker": f"SPEAKER_{i % speakers:02d}",
                "text": " ".join(tokens).capitalize() + ".",
                "words": segment_words,
            }
        )
    talk = [
        {"id": f"SPEAKER_{s:02d}", "name": f"SPEAKER_{s:02d}", "talk_time": round(duration / speakers, 1)}
        for s in range(speakers)
    ]
    return {
        "duration": duration,
        "language": "en",
        "model": "tiny.en",
        "engine": "faster-whisper",
        "diarization": "builtin",
        "speakers": talk,
        "segments": segments,
        "text": " ".join(s["text"] for s in segments),
        "turns": [{"start": s["start"], "end": s["end"], "speaker": s["speaker"]} for s in segments],
        "timings": {"decode": 0.1, "transcribe": duration * 0.2, "diarize": duration * 0.1},
    }


def fill(repo, count: int, seed: int = 7) -> dict[str, float]:  # type: ignore[no-untyped-def]
    """``count`` tasks over the last year, written in batches the way TaskLifecycle.complete writes them."""
    from services.store import transcript_index
    from services.store.models import ProcessingTask, Recording, TranscriptSegment, utcnow

    rng = np.random.default_rng(seed)
    words = vocabulary(rng)
    planted = set(rng.choice(count, size=3, replace=False).tolist())
    rare = set(rng.choice(count, size=12, replace=False).tolist())
    now = utcnow()
    json_bytes = 0
    segments_total = 0
    started = time.perf_counter()
    for first in range(0, count, BATCH):
        recordings, tasks, segments = [], [], []
        for i in range(first, min(count, first + BATCH)):
            duration = float(np.clip(rng.lognormal(np.log(240), 0.8), 20, 3 * 3600))
            created = now - timedelta(seconds=float(rng.uniform(0, 365 * 86400)))
            status = rng.choice(
                ["completed", "failed", "cancelled", "queued", "processing"], p=[0.94, 0.03, 0.01, 0.015, 0.005]
            )
            status = "processing" if i == 0 else status  # the task page is timed on a running task
            speakers = int(rng.integers(1, 6))
            recording_id, task_id = str(uuid.uuid4()), str(uuid.uuid4())
            recordings.append(
                {
                    "id": recording_id,
                    "filename": f"recording {i:05d}.m4a",
                    "stored_path": None,
                    "size_bytes": int(duration * 16000),
                    "duration": duration,
                    "created_at": created,
                }
            )
            result = None
            if status == "completed":
                plant = PHRASE if i in planted else (f"the {RARE_WORD} of the court" if i in rare else "")
                result = make_result(rng, words, duration, speakers, plant=plant)
                json_bytes += len(json.dumps(result))
                rows = transcript_index.segment_rows(task_id, result["segments"])
                segments += rows
                segments_total += len(rows)
            finished = (
                created + timedelta(seconds=duration * 0.3) if status in ("completed", "failed", "cancelled") else None
            )
            tasks.append({
                "id": task_id, "recording_id": recording_id, "kind": "analyze", "status": status,
                "progress": 100 if status == "completed" else 0, "stage": "done" if status == "completed" else status,
                "error": "not an audio file" if status == "failed" else None, "options": {}, "result": result,
                "num_speakers": speakers if result else None, "attempts": 1, "worker": "bench:1",
                "created_at": created, "started_at": created if finished else None, "heartbeat_at": None,
                "completed_at": finished, "enqueued_at": created,
            })  # fmt: skip
        with repo.engine.begin() as conn:
            conn.execute(insert(Recording), recordings)
            conn.execute(insert(ProcessingTask), tasks)
            if segments:
                conn.execute(insert(TranscriptSegment), segments)
    return {"seconds": time.perf_counter() - started, "json_mb": json_bytes / 1e6, "segments": segments_total}


def one_hour_task(ctx, words: list[str]) -> str:  # type: ignore[no-untyped-def]
    """A completed task of a real 1-hour recording (Opus, stored) with a 1-hour result of two speakers."""
    from bench.corpus import stitched
    from tests.media import encode_audio

    with tempfile.TemporaryDirectory() as folder:
        audio = encode_audio(Path(folder) / "meeting.ogg", stitched(3600), 16000, "libopus", fmt="ogg")
        stored = ctx.storage.save("one hour meeting.ogg", audio.read_bytes())
    task = ctx.repo.create(
        filename="one hour meeting.ogg", stored_path=stored.key, size_bytes=stored.size_bytes, duration=3600.0
    )
    ctx.repo.claim(task.id, "bench:1", stale_before=task.created_at)
    result = make_result(np.random.default_rng(3), words, 3600.0, 2)
    assert ctx.repo.complete(task.id, result)
    print(
        f"1-hour task: {len(result['segments'])} segments, {sum(len(s['words']) for s in result['segments'])} words, "
        f"{len(json.dumps(result)) / 1e6:.1f} MB of JSON, audio {stored.size_bytes / 1e6:.0f} MB"
    )
    return task.id


def timed(work: Callable[[], Any], runs: int) -> tuple[float, float]:
    """(first run, median of the next ``runs``) in milliseconds."""
    samples = []
    for _ in range(runs + 1):
        t = time.perf_counter()
        work()
        samples.append((time.perf_counter() - t) * 1000)
    return samples[0], statistics.median(samples[1:])


def page_run(
    search: str = "", page: str = "app_pages/history.py", query: dict[str, str] | None = None, **widgets: Any
) -> Callable[[], None]:
    from streamlit.testing.v1 import AppTest

    app = str(Path(__file__).resolve().parents[1] / "app.py")

    def run() -> None:
        at = AppTest.from_file(app, default_timeout=120)
        at.switch_page(page)
        for key, value in (query or {}).items():
            at.query_params[key] = value
        at.run()
        if search:
            at.text_input(key="history_search").input(search)
        for key, value in widgets.items():
            at.selectbox(key=key).select(value)
        if search or widgets:
            at.run()
        assert not at.exception, at.exception

    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tasks", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=5, help="timed runs after the first (the median is reported)")
    parser.add_argument("--keep", type=Path, help="build the database in this folder and keep it")
    args = parser.parse_args()

    folder = args.keep or Path(tempfile.mkdtemp(prefix="fastaudio-history-bench-"))
    folder.mkdir(parents=True, exist_ok=True)
    database = folder / "fastaudio.db"
    if database.exists():
        raise SystemExit(f"{database} exists; the benchmark needs a fresh database")

    # The pages build their context from the settings: point them at the benchmark's folder.
    import os

    from services.config import Settings, get_settings
    from services.runtime.context import build_context, get_context

    os.environ.update(DATA_DIR=str(folder), DATABASE_URL=f"sqlite:///{database}")
    get_settings.cache_clear()
    get_context.cache_clear()
    ctx = build_context(Settings())
    repo = ctx.repo

    filled = fill(repo, args.tasks)
    with repo.engine.begin() as conn:
        conn.execute(text("ANALYZE"))
    size_mb = sum(p.stat().st_size for p in folder.glob("fastaudio.db*")) / 1e6
    mean_kb = filled["json_mb"] * 1000 / max(1, repo.count("completed"))
    print(
        f"filled {args.tasks} tasks in {filled['seconds']:.0f} s: {filled['segments']} transcript segments, "
        f"result JSON {filled['json_mb']:.0f} MB (mean {mean_kb:.0f} KB "
        f"per completed task), database {size_mb:.0f} MB"
    )

    from services.store.task_query import TaskFilter

    set_log_level("error")
    running = repo.list_tasks(status="processing", limit=1)[0].id
    hour = one_hour_task(ctx, words=vocabulary(np.random.default_rng(1)))
    with repo.engine.connect() as conn:

        def segments(q: str) -> str:
            n = conn.execute(
                text("SELECT count(*) FROM transcript_fts WHERE transcript_fts MATCH :q"), {"q": q}
            ).scalar()
            return f"{n:,} segments"

        hits = {word: segments(q) for word, q in (("the", '"the"'), ("amer", '"amer"*'), (RARE_WORD, f'"{RARE_WORD}"'))}
    rows: list[tuple[str, tuple[float, float]]] = [
        ("History page (AppTest run: app.py + app_pages/history.py)", timed(page_run(), args.runs)),
        ("History page sorted longest first", timed(page_run(history_sort="longest"), args.runs)),
        ("History page searching a phrase (3 hits)", timed(page_run(f'"{PHRASE}"'), args.runs)),
        (f'History page searching "amer" ({hits["amer"]})', timed(page_run("amer"), args.runs)),
        (
            "Task page of a running task (stage, percent, time left)",
            timed(page_run(page="app_pages/task.py", query={"task": running}), args.runs),
        ),
        (
            "Task page of a completed 1-hour recording (player, timeline, transcript, stats, exports)",
            timed(page_run(page="app_pages/task.py", query={"task": hour}), args.runs),
        ),
        ("count() + list_tasks() page 1", timed(lambda: (repo.count(), repo.list_tasks(limit=50)), args.runs)),
        (
            f"list_tasks() last page (offset {args.tasks - 50:,})",
            timed(lambda: repo.list_tasks(limit=50, offset=args.tasks - 50), args.runs),
        ),
        (
            "list_tasks() 2-3 speakers, 1-10 min, by name",
            timed(
                lambda: repo.list_tasks(
                    filters=TaskFilter(min_speakers=2, max_speakers=3, min_duration=60, max_duration=600), sort="name"
                ),
                args.runs,
            ),
        ),
        (f'search("{PHRASE}")', timed(lambda: repo.search(f'"{PHRASE}"'), args.runs)),
        (f'search("{RARE_WORD}") ({hits[RARE_WORD]})', timed(lambda: repo.search(RARE_WORD), args.runs)),
        (f'search("the") ({hits["the"]})', timed(lambda: repo.search("the"), args.runs)),
        (f'search("amer"), a prefix ({hits["amer"]})', timed(lambda: repo.search("amer"), args.runs)),
    ]
    found = repo.search(f'"{PHRASE}"')
    assert found.total == 3, found.total

    width = max(len(name) for name, _ in rows)
    print(f"\n| {f'what ({args.tasks:,} tasks, SQLite)'.ljust(width)} | first (ms) | median (ms) |")
    print(f"|{'-' * (width + 2)}|-----------:|------------:|")
    for name, (first, median) in rows:
        print(f"| {name.ljust(width)} | {first:10.0f} | {median:11.0f} |")
    if not args.keep:
        import shutil

        ctx.repo.engine.dispose()
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
