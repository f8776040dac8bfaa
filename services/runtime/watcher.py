"""The watch folder's process: ``python -m services.runtime.watcher`` (``make run`` starts it when WATCH_DIR is set).

A polling loop, WATCH_INTERVAL_SECONDS apart, over ``services.jobs.watch_folder.WatchFolder``: no
file-system notification library, and it works the same on network shares, where notifications
often never arrive. Run one per folder: the content hashes in the database keep a second one from
submitting a file twice, but two would write the same exports.
"""

from __future__ import annotations

import logging
import signal
import sys
import threading

from services.config import Settings, get_settings
from services.errors import FastAudioError, InvalidOptions
from services.jobs.submissions import ANALYZE
from services.jobs.watch_folder import WatchFolder, parse_formats
from services.runtime.context import AppContext, build_context

log = logging.getLogger(__name__)


def watch_folder(ctx: AppContext) -> WatchFolder:
    """The context's WATCH_DIR as a ``WatchFolder`` (the folder is created if missing).

    Raises:
        InvalidOptions: WATCH_DIR is not set, or WATCH_FORMATS names an unknown format.
    """
    settings = ctx.settings
    if settings.watch_dir is None:
        raise InvalidOptions("WATCH_DIR is not set: name the folder whose audio files should be analysed.")
    folder = settings.watch_dir.expanduser().resolve()
    folder.mkdir(parents=True, exist_ok=True)
    return WatchFolder(
        folder=folder,
        formats=parse_formats(settings.watch_formats),
        tasks=ctx.repo,
        watched=ctx.watched,
        edits=ctx.edits,
        storage=ctx.storage,
        settings=settings,
        enqueue=ctx.queue.enqueuer(ANALYZE),
    )


def run(watch: WatchFolder, settings: Settings, stop: threading.Event) -> None:
    """Poll until ``stop`` is set; an error in one poll is logged and the next poll tries again."""
    while not stop.is_set():
        try:
            watch.poll()
        except Exception:  # a database or disk hiccup must not end the loop
            log.exception("watch folder poll failed")
        stop.wait(settings.watch_interval_seconds)


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    settings = get_settings()
    try:
        watch = watch_folder(build_context(settings))
    except FastAudioError as exc:
        print(f"FastAudio watch folder: {exc}", file=sys.stderr)
        return 2
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    print(f"FastAudio: watching {watch.folder} (exports: {', '.join(watch.formats)})", flush=True)
    run(watch, settings, stop)
    return 0


if __name__ == "__main__":
    sys.exit(main())
