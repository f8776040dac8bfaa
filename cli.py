"""FastAudio on the command line.

python -m cli analyze FILE [--format json|rttm|srt|vtt|txt|md|csv|docx] [--num-speakers N]   in-process
    [--speaker-names "Alice, Bob"] [--mark-unsure] [--language de|auto]      (also for submit)
python -m cli submit FILE [--wait] [--format ...]     via the queue; stdout: the task id (with --wait: the result)
python -m cli status TASK_ID
python -m cli run                                                                      make run
python -m cli hash-password NAME                                      a PAGES_USERS line (sign-in)
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from services.analysis.options import AnalysisOptions, check_language_for_model
from services.config import get_settings
from services.errors import FastAudioError
from services.results.edits import Edits, apply_edits
from services.results.exports import FORMATS, render
from services.results.names import names_of, parse_speaker_names
from services.schema import AnalysisResult
from services.store.task_views import TaskView


def _options(args: argparse.Namespace) -> AnalysisOptions:
    options = AnalysisOptions(
        num_speakers=args.num_speakers, min_speakers=args.min_speakers, max_speakers=args.max_speakers,
        language=args.language,
    )  # fmt: skip
    check_language_for_model(options.language, get_settings().whisper_model_size)
    return options


def _progress_line(stage: str, percent: int) -> None:
    print(f"\r{stage:<12} {percent:3d}%", end="", file=sys.stderr, flush=True)


def cmd_analyze(args: argparse.Namespace) -> int:
    from services.analysis.engines import make_diarizer, make_transcriber
    from services.analysis.pipeline import analyze_file

    settings = get_settings()
    names = parse_speaker_names(args.speaker_names)  # before the analysis: a bad name fails at once
    result = analyze_file(
        args.file,
        make_transcriber(settings),
        _options(args),
        on_progress=lambda stage, fraction: _progress_line(stage, int(fraction * 100)),
        diarizer=make_diarizer(settings),
        max_seconds=settings.max_duration_minutes * 60,
    )
    print(file=sys.stderr)
    result = apply_edits(result, names_of(result, names))
    _emit(render(result, args.format, file_id=Path(args.file).stem, mark_unsure=args.mark_unsure))
    return 0


def _emit(body: str | bytes) -> None:
    """An export on stdout: text as it is, a binary format (DOCX) as raw bytes."""
    if isinstance(body, bytes):
        sys.stdout.flush()
        sys.stdout.buffer.write(body)
        sys.stdout.buffer.flush()
    else:
        print(body)


def cmd_submit(args: argparse.Namespace) -> int:
    from services.jobs.submissions import ANALYZE, submit
    from services.runtime.context import get_context

    ctx = get_context()
    path = Path(args.file)
    names = parse_speaker_names(args.speaker_names)
    with open(path, "rb") as data:
        submission = submit(
            filename=path.name, data=data, options=_options(args), repo=ctx.repo, storage=ctx.storage,
            settings=ctx.settings, enqueue=ctx.queue.enqueuer(ANALYZE), speaker_names=names,
        )  # fmt: skip
    task = submission.task
    print(f"task {task.id}: {task.status}. {submission.message}", file=sys.stderr)
    if not args.wait:
        print(task.id)  # the only line on stdout: id=$(python -m cli submit f.wav)
        return 1 if task.status == "failed" else 0
    while not task.is_final:
        time.sleep(0.5)
        task = ctx.repo.require(task.id)
        _progress_line(task.stage, task.progress)
    print(file=sys.stderr)
    return _print_final(task, ctx.edits.load(task.id), args, path.stem)


def _print_final(task: TaskView, edits: Edits, args: argparse.Namespace, stem: str) -> int:
    if task.status != "completed" or task.result is None:
        print(f"task {task.id} {task.status}: {task.error}", file=sys.stderr)
        return 1
    result = apply_edits(AnalysisResult.from_dict(task.result), edits)  # names given at upload included
    _emit(render(result, args.format, file_id=stem, mark_unsure=args.mark_unsure))
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    from services.runtime.context import get_context

    task = get_context().repo.require(args.task_id)
    print(json.dumps({
        "task_id": task.id, "filename": task.recording.filename, "status": task.status,
        "progress": task.progress, "stage": task.stage, "error": task.error,
        "created_at": task.created_at.isoformat(),
        "completed_at": task.completed_at.isoformat() if task.completed_at else None,
    }, indent=2))  # fmt: skip
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    from services.runtime.supervisor import run
    from ui.serve import exposure_check

    problem = exposure_check(args.address)
    if problem:  # before anything starts: the pages would be open to the network
        print(f"error: {problem}", file=sys.stderr)
        return 2
    return run(get_settings(), port=args.port, address=args.address)


def cmd_hash_password(args: argparse.Namespace) -> int:
    """Print a ``name:hash`` line for PAGES_USERS (the password is read without echo, or from stdin)."""
    import getpass

    from services.runtime.sign_in import hash_password

    if sys.stdin.isatty():
        password = getpass.getpass("Password: ")
        if getpass.getpass("Again: ") != password:
            print("error: the two passwords differ", file=sys.stderr)
            return 2
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    if len(password) < 8:
        print("error: use at least 8 characters", file=sys.stderr)
        return 2
    print(f"{args.name}:{hash_password(password)}")
    return 0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m cli", description="FastAudio: who said what, and when.")
    sub = p.add_subparsers(dest="command", required=True)

    def speaker_flags(sp: argparse.ArgumentParser) -> None:
        sp.add_argument("file", help="an audio or video file")
        sp.add_argument("--format", choices=list(FORMATS), default="txt")
        sp.add_argument("--num-speakers", type=int)
        sp.add_argument("--min-speakers", type=int)
        sp.add_argument("--max-speakers", type=int)
        sp.add_argument(
            "--speaker-names", metavar='"ALICE, BOB"',
            help="names in order of first appearance: the first speaker heard gets the first name",
        )  # fmt: skip
        sp.add_argument(
            "--language",
            help="the language spoken: a Whisper code (en, de, ...) or name; auto (the default) detects it",
        )
        sp.add_argument("--mark-unsure", action="store_true", help="txt, md, docx: write unsure words as [word?]")

    a = sub.add_parser("analyze", help="analyse a file in this process and print the result")
    speaker_flags(a)
    a.set_defaults(func=cmd_analyze)
    s = sub.add_parser(
        "submit", help="send a file through the queue and print its task id (a worker must be running to analyse it)"
    )
    speaker_flags(s)
    s.add_argument("--wait", action="store_true", help="wait for the result and print it instead of the task id")
    s.set_defaults(func=cmd_submit)
    st = sub.add_parser("status", help="print a task's status as JSON")
    st.add_argument("task_id")
    st.set_defaults(func=cmd_status)
    r = sub.add_parser("run", help="start Redis (if needed), a worker and the web app")
    r.add_argument("--port", type=int, default=8501)
    r.add_argument("--address", default="localhost")
    r.set_defaults(func=cmd_run)
    h = sub.add_parser("hash-password", help="print a 'name:hash' line for PAGES_USERS (the password is asked for)")
    h.add_argument("name", help="the name to sign in with")
    h.set_defaults(func=cmd_hash_password)
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return args.func(args)
    except FastAudioError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
