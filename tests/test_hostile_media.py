"""Hostile uploads against a real stack: the API in its own uvicorn process and a real worker.

Every file here is made by the test: FLAC files whose header lies about their length or states
none, WAV and raw AAC streams without a length, playlists and lists of files naming a secret file
on the server or a URL, and request bodies framed to slip past the size limit. The stack runs with
MAX_DURATION_MINUTES=1 and MAX_UPLOAD_MB=2, on a queue of its own. Figures for docs/RELIABILITY.md
("Hostile media").
"""

from __future__ import annotations

import http.server
import socket
import threading
import time
import uuid
from pathlib import Path

import httpx
import numpy as np
import psutil
import pytest

from services.analysis.audio import decode
from tests.helpers import api_client, child_env, start_worker, stop_process
from tests.hostile_media import concat_list, endless_wav, hls_playlist, lying_flac, m3u_playlist, raw_adts
from tests.media import encode_audio

LIMIT_MINUTES = 1
TOO_LONG = f"longer than {LIMIT_MINUTES} minute, the limit (MAX_DURATION_MINUTES)"


class Stack:
    def __init__(self, client: httpx.Client, api: psutil.Process, logs: list[Path], port: int, queue: str) -> None:
        self.client, self.api, self.logs, self.port, self.queue = client, api, logs, port, queue

    def upload(self, path: Path) -> httpx.Response:
        with open(path, "rb") as data:
            return self.client.post("/analyze", files={"file": (path.name, data, "application/octet-stream")})

    def final(self, task_id: str, timeout: float = 300) -> dict:  # type: ignore[type-arg]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            task = self.client.get(f"/api/tasks/{task_id}").json()
            if task["status"] in ("completed", "failed"):
                return task
            time.sleep(0.2)
        raise AssertionError(f"task {task_id} not final after {timeout} s")

    def log_text(self) -> str:
        return "\n".join(p.read_text(errors="replace") for p in self.logs if p.exists())


@pytest.fixture(scope="module")
def stack(environment: dict[str, str], tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    folder = tmp_path_factory.mktemp("hostile")
    env = child_env(
        **{
            **environment,
            "CELERY_QUEUE": f"fastaudio-hostile-{uuid.uuid4().hex[:8]}",
            "MAX_DURATION_MINUTES": str(LIMIT_MINUTES),
            "MAX_UPLOAD_MB": "2",
            "CPU_THREADS": "1",
        }
    )
    worker = start_worker(env, folder / "worker.log")
    try:
        with api_client(env, folder / "api.log", timeout=120) as (client, api):
            logs = [folder / "worker.log", folder / "api.log"]
            yield Stack(client, psutil.Process(api.pid), logs, client.base_url.port, env["CELERY_QUEUE"])
    finally:
        stop_process(worker)


def _peak_rss_mib(process: psutil.Process) -> float:
    """The process's peak resident memory (VmHWM) in MiB."""
    for line in Path(f"/proc/{process.pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmHWM")


def _reset_peak(process: psutil.Process) -> None:
    Path(f"/proc/{process.pid}/clear_refs").write_text("5")  # the kernel's "reset the peak RSS"


def test_lengths_are_counted_not_believed(stack: Stack, tmp_path: Path, figures: list[str]) -> None:
    cases = {  # name -> (file, expected final status, expected duration when completed)
        "header says 1 s, holds 3 min": (lying_flac(tmp_path / "liar.flac", 180, 1), "failed", None),
        "header says 1 s, holds 40 s": (lying_flac(tmp_path / "short-liar.flac", 40, 1), "completed", 40.0),
        "WAV sizes 0xFFFFFFFF, 20 s": (endless_wav(tmp_path / "endless.wav", 20), "completed", 20.0),
        "raw AAC (ADTS), 20 s": (raw_adts(tmp_path / "stream.aac", 20), "completed", 20.0),
        "raw AAC (ADTS), 3 min": (raw_adts(tmp_path / "long-stream.aac", 180), "failed", None),
        "FLAC without a length, 3 min": (lying_flac(tmp_path / "nolength.flac", 180, 0), "failed", None),
    }
    outcomes = []
    for name, (path, expected, duration) in cases.items():
        answer = stack.upload(path)
        assert answer.status_code in (202, 422), (name, answer.text)
        task = stack.final(answer.json()["task_id"])
        assert task["status"] == expected, (name, task["error"])
        if expected == "failed":
            assert "MAX_DURATION_MINUTES" in task["error"], (name, task["error"])
            assert answer.status_code == 422 or TOO_LONG in task["error"], (name, task["error"])
        else:
            assert abs(task["duration"] - duration) < 0.5, (name, task["duration"])  # the decoded length
        where = "at upload" if answer.status_code == 422 else "by the worker"
        outcomes.append(
            f"{name} ({path.stat().st_size // 1024} KB): {task['status']} "
            f"{where if expected == 'failed' else ''}".rstrip()
        )
    figures.append("Hostile lengths (MAX_DURATION_MINUTES=1): " + "; ".join(outcomes))


def test_the_api_never_decodes_a_file_without_a_length_whole(stack: Stack, tmp_path: Path, figures: list[str]) -> None:
    """The worst upload for the API process: a FLAC that states no length and holds 3 hours of audio
    in about 2 MB (decoded whole at 16 kHz, 3 hours would take 1 GiB in float32 alone)."""
    bomb = lying_flac(tmp_path / "bomb.flac", 3 * 3600, 0)
    assert bomb.stat().st_size < 2 * 1024 * 1024
    idle = stack.api.memory_info().rss / 2**20
    _reset_peak(stack.api)
    started = time.monotonic()
    cpu_before = sum(stack.api.cpu_times()[:2])
    answer = stack.upload(bomb)
    took, cpu = time.monotonic() - started, sum(stack.api.cpu_times()[:2]) - cpu_before
    peak = _peak_rss_mib(stack.api)
    assert answer.status_code == 422 and TOO_LONG in answer.json()["detail"], answer.text
    figures.append(
        f"API process, worst upload (FLAC without a length, 3 h of audio in {bomb.stat().st_size / 2**20:.1f} MiB): "
        f"peak RSS {peak:.0f} MiB (idle {idle:.0f} MiB, +{peak - idle:.0f} MiB), answered 422 in {took:.2f} s, "
        f"{cpu:.2f} CPU s"
    )
    assert peak - idle < 200  # generous; decoding it whole would add over 1 GiB


class _Listener:
    """A local HTTP server that counts the requests it gets (a playlist must not make any)."""

    def __init__(self) -> None:
        self.hits: list[str] = []
        hits = self.hits

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                hits.append(self.path)
                self.send_response(404)
                self.end_headers()

            def log_message(self, *_args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()


def _lists(folder: Path, secret_audio: Path, secret_text: Path, url: str) -> list[Path]:
    folder.mkdir()
    sdp = folder / "stream.sdp"
    sdp.write_text("v=0\no=- 0 0 IN IP4 127.0.0.1\ns=x\nc=IN IP4 127.0.0.1\nt=0 0\nm=audio 5004 RTP/AVP 0\n")
    mpd = folder / "manifest.mpd"
    mpd.write_text(
        '<?xml version="1.0"?><MPD xmlns="urn:mpeg:dash:schema:mpd:2011" type="static" '
        'mediaPresentationDuration="PT10S">'
        f'<Period><AdaptationSet mimeType="audio/mp2t"><Representation id="a" bandwidth="64000"><BaseURL>{secret_audio}'
        "</BaseURL></Representation></AdaptationSet></Period></MPD>"
    )
    return [
        hls_playlist(folder / "absolute.m3u8", str(secret_audio)),
        hls_playlist(folder / "file-url.m3u8", f"file://{secret_audio}"),
        hls_playlist(folder / "remote.m3u8", f"{url}/segment.ts"),
        hls_playlist(folder / "text.m3u8", str(secret_text)),
        hls_playlist(folder / "subfile.m3u8", f"subfile,,start,0,end,0,,:{secret_audio}"),
        m3u_playlist(folder / "plain.m3u", str(secret_audio)),
        m3u_playlist(folder / "remote.m3u", f"{url}/stream.mp3"),
        concat_list(folder / "absolute.ffconcat", str(secret_audio)),
        concat_list(folder / "relative.ffconcat", secret_audio.name),
        concat_list(folder / "remote.ffconcat", f"{url}/x.wav"),
        sdp,
        mpd,
    ]


def test_playlists_and_lists_never_reach_other_files(
    stack: Stack, data: Path, tmp_path: Path, figures: list[str]
) -> None:
    marker = f"TOP-SECRET-{uuid.uuid4().hex}"
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    secret_text = secrets / "secret.txt"
    secret_text.write_text(f"{marker}\n")
    speech = decode(data / "jfk.flac")[: 8 * 16000]  # "... my fellow Americans, ask not ..."
    secret_audio = encode_audio(secrets / "secret.ts", speech, 16000, "aac", fmt="mpegts")
    listener = _Listener()
    try:
        lists = _lists(tmp_path / "lists", secret_audio, secret_text, listener.url)
        answers = []
        for path in lists:
            answer = stack.upload(path)
            task = stack.final(answer.json()["task_id"])
            answers += [answer.text, str(task)]
            assert answer.status_code == 415, (path.name, answer.text)
            assert task["status"] == "failed" and "is not an audio file we can read" in task["error"], task
        time.sleep(1)
    finally:
        listener.close()
    seen = "\n".join(answers) + stack.log_text()
    assert marker not in seen and "americans" not in seen.lower()
    assert listener.hits == []
    figures.append(
        f"Playlists and lists ({len(lists)}: HLS with a path, a file: URL, a local URL, subfile:; m3u; ffconcat "
        "absolute, relative and remote; SDP; DASH): all 415 / failed, no request to the local URL, the secret "
        "file's words in no answer and no log"
    )


def _multipart(size: int) -> bytes:
    """A well-formed form upload of ``size`` bytes: what the old gate let through to the disk."""
    head = b'--x\r\nContent-Disposition: form-data; name="file"; filename="big.wav"\r\n'
    return head + b"Content-Type: application/octet-stream\r\n\r\n" + b"\0" * size + b"\r\n--x--\r\n"


def _raw_request(port: int, head: str, body: bytes) -> str:
    """Send a request head and ``body`` in chunks of 64 KiB (chunked encoding); the status line answered."""
    with socket.create_connection(("127.0.0.1", port), timeout=60) as sock:
        sock.sendall(head.encode())
        try:
            for at in range(0, len(body), 0x10000):
                chunk = body[at : at + 0x10000]
                sock.sendall(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
            sock.sendall(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server answered and closed before the body was through: what a refusal looks like
        answer = b""
        try:
            while b"\r\n" not in answer:
                part = sock.recv(4096)
                if not part:
                    break
                answer += part
        except ConnectionResetError:
            pass
    return answer.decode(errors="replace").split("\r\n", 1)[0]


def test_chunked_bodies_over_the_limit_are_refused(stack: Stack, figures: list[str]) -> None:
    before = stack.client.get("/api/tasks", params={"limit": 1}).json()["total"]
    head = "POST /analyze HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: multipart/form-data; boundary=x\r\n"
    body = _multipart(5 * 2**20)
    statuses = {
        "Content-Length 1000 + chunked 5 MiB": _raw_request(
            stack.port, head + "Content-Length: 1000\r\nTransfer-Encoding: chunked\r\n\r\n", body
        ),
        "chunked 5 MiB first, then Content-Length 1000": _raw_request(
            stack.port, head + "Transfer-Encoding: chunked\r\nContent-Length: 1000\r\n\r\n", body
        ),
        "chunked 5 MiB, no Content-Length": _raw_request(stack.port, head + "Transfer-Encoding: chunked\r\n\r\n", body),
    }
    figures.append("Chunked bodies over MAX_UPLOAD_MB=2: " + "; ".join(f"{k}: {v}" for k, v in statuses.items()))
    assert all(" 400 " in statuses[k] + " " for k in list(statuses)[:2]), statuses
    assert " 411 " in statuses["chunked 5 MiB, no Content-Length"] + " ", statuses
    # Nothing was received into a task: before, the 5 MiB went to disk and became a failed task.
    assert stack.client.get("/api/tasks", params={"limit": 1}).json()["total"] == before
    assert stack.client.get("/health").status_code == 200


def test_the_worker_refuses_a_playlist_that_got_past_the_upload(stack: Stack, tmp_path: Path) -> None:
    """Defence in depth: a stored file the upload's probe never saw (changed in storage, an older
    version's upload) is opened by the worker with the same rules."""
    from services.config import Settings
    from services.runtime.context import build_context
    from worker.celery_app import enqueue, make_app

    secret = encode_audio(tmp_path / "inside.ts", np.zeros(16000, np.float32), 16000, "aac", fmt="mpegts")
    settings = Settings(celery_queue=stack.queue)
    ctx = build_context(settings)
    stored = ctx.storage.save("sneaky.m3u8", hls_playlist(tmp_path / "p.m3u8", str(secret)).open("rb"))
    task = ctx.repo.create(filename="sneaky.m3u8", stored_path=stored.key, size_bytes=stored.size_bytes, duration=1.0)
    enqueue(task.id, via=make_app(settings))
    final = stack.final(task.id)
    assert final["status"] == "failed" and "is not an audio file we can read" in final["error"], final
