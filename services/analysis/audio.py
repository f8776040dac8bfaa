"""Decode anything with an audio track into 16 kHz mono float32, and probe files before queueing.

PyAV (FFmpeg's libraries, shipped in the ``av`` wheel that faster-whisper already needs) reads
wav (PCM and float), flac, mp3, m4a/aac, ogg/opus, webm and video containers, so no system ffmpeg is
required. Every way a file can fail to be audio ends as ``UnsupportedAudio`` with a message a person
can act on.

Uploads are hostile, so:

- A file is opened from its own bytes only (a file object, never a path or URL FFmpeg could
  interpret) and only by a demuxer in ``ALLOWED_DEMUXERS``: FFmpeg refuses any other one after
  probing, before it reads a header (``format_whitelist``). Playlists (m3u8/HLS), concat lists,
  DASH manifests, SDP, image sequences and the like can name other files or URLs; none of them is
  allowed, and no protocol may be opened from inside a file (``protocol_whitelist``).
- Lengths in headers are claims. ``decode`` counts the samples it produces and stops with
  ``RecordingTooLong`` once they pass ``max_seconds``; ``probe`` measures a file whose header states
  no length by reading its packets one at a time, stopping at the limit, never holding the audio.
"""

from __future__ import annotations

import gc
import os
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import av
import numpy as np

from services.errors import EmptyAudio, RecordingTooLong, UnsupportedAudio
from services.schema import SAMPLE_RATE

Source = str | os.PathLike[str] | BinaryIO

ALLOWED_DEMUXERS = frozenset(
    {
        "wav", "w64", "aiff", "au", "caf",  # PCM and float
        "flac", "mp3", "aac", "loas", "ac3", "eac3", "dts", "truehd", "mlp", "amr", "amrnb", "amrwb",  # raw streams
        "ogg", "matroska", "mov", "asf", "avi", "flv", "mpeg", "mpegts",  # containers (opus, webm, m4a/mp4, wma, video)
        "wv", "ape", "tta",  # lossless archives
    }
)  # fmt: skip
"""FFmpeg demuxers that read one self-contained audio or video file. Demuxers that open other files
or URLs named inside the upload (hls, concat, dash, webm_dash_manifest, sdp, rtsp, image2, ...) are
not in it; of these, only ``mov`` can follow a reference (its data references), which FFmpeg does
only with ``enable_drefs``, kept off here."""

OPEN_OPTIONS = {
    "format_whitelist": ",".join(sorted(ALLOWED_DEMUXERS)),
    "protocol_whitelist": "none",  # no file:, http:, data:, subfile:, ... from inside a file
    "enable_drefs": "0",
}

MIN_RATE, MAX_RATE = 1_000, 768_000
"""Sample rates (Hz) a real recording can have. A header may claim anything: 1 Hz makes 10 KB of samples 83
minutes long, and 2,147,483,647 Hz makes FFmpeg's resampler ask for more memory than there is."""
DURATION_SLACK_S = 1.0
"""Decoded audio may exceed a header's length by encoder priming and resampler delay (AAC: 1024-2112
samples, under 0.05 s); a recording counts as too long only beyond this."""

NOT_AUDIO = (
    "{name} is not an audio file we can read (expected wav, flac, mp3, m4a, ogg, opus, webm or a video with sound)."
)
DAMAGED = (
    "{name} could not be decoded ({reason}): the file is damaged or its audio is stored in a way we cannot "
    "read. Export it again as WAV, MP3 or FLAC and upload that."
)
CHANNELS = (
    "{name} has {channels} audio channels that could not be mixed down; export it as mono or stereo and upload that."
)


@dataclass(frozen=True)
class AudioInfo:
    """What a probe learns about a file without decoding all of it."""

    duration: float
    sample_rate: int
    channels: int
    codec: str
    container: str


def too_long(name: str, max_seconds: float, duration: float | None = None) -> RecordingTooLong:
    """The error for a recording over MAX_DURATION_MINUTES; ``duration`` when it is known."""
    minutes = max_seconds / 60
    limit = f"{minutes:g} minute{'' if minutes == 1 else 's'}"
    found = (
        f"is {_minutes(duration)} long; the limit is {limit}"
        if duration is not None
        else f"is longer than {limit}, the limit"
    )
    return RecordingTooLong(
        f"{name} {found} (MAX_DURATION_MINUTES). Split the recording or ask an administrator to raise the limit."
    )


def _minutes(seconds: float) -> str:
    return f"{seconds / 60:.0f} minutes" if seconds >= 120 else f"{seconds:.0f} seconds"


def _reason(exc: av.error.FFmpegError) -> str:
    """FFmpeg's short reason ("Invalid argument"), without the call it came from."""
    return str(getattr(exc, "strerror", None) or exc).rstrip(".")


def _name(source: Source | str | None) -> str:
    if isinstance(source, (str, os.PathLike)):
        return Path(source).name
    name = getattr(source, "name", None)
    return Path(name).name if isinstance(name, str) and name else "the upload"


@contextmanager
def _opened(source: Source) -> Iterator[av.container.InputContainer]:
    """The file opened from its own bytes by an allowed demuxer, with an audio stream; closed after."""
    name = _name(source)
    with ExitStack() as stack:
        if isinstance(source, (str, os.PathLike)):
            if os.path.getsize(source) == 0:
                raise EmptyAudio(f"{name} is empty (0 bytes).")
            file: BinaryIO = stack.enter_context(open(source, "rb"))
        else:
            file = source
            file.seek(0)
        try:
            container = av.open(file, mode="r", container_options=OPEN_OPTIONS)
        except (av.error.FFmpegError, ValueError, UnicodeDecodeError, OSError) as exc:
            raise UnsupportedAudio(NOT_AUDIO.format(name=name)) from exc
        stack.callback(container.close)
        if not set((container.format.name or "").split(",")) & ALLOWED_DEMUXERS:  # "mov,mp4,m4a,..." is one
            raise UnsupportedAudio(NOT_AUDIO.format(name=name))  # never reached: FFmpeg refuses it first
        if not container.streams.audio:
            raise UnsupportedAudio(f"{name} has no audio track.")
        _check_stream(container.streams.audio[0], name)
        yield container


def _check_stream(stream: av.AudioStream, name: str) -> None:
    """Refuse an audio stream whose header makes decoding impossible or absurd, before any decoding."""
    if stream.codec_context is None:  # a format tag FFmpeg has no decoder for
        raise UnsupportedAudio(DAMAGED.format(name=name, reason="its audio is in a format we have no decoder for"))
    if not stream.channels:
        raise UnsupportedAudio(DAMAGED.format(name=name, reason="its header states no audio channels"))
    if not MIN_RATE <= (stream.rate or 0) <= MAX_RATE:
        reason = f"its header states a sample rate of {stream.rate or 0:,} Hz"
        raise UnsupportedAudio(DAMAGED.format(name=name, reason=reason))


def probe(source: Source, max_seconds: float | None = None) -> AudioInfo:
    """Read a file's header: duration, rate, channels. Raises ``UnsupportedAudio`` when it is not audio.

    Where the container states no duration (raw streams, streamed webm/ogg, FLAC without a sample
    count), the packets are read one by one and their durations added up, in constant memory; with
    ``max_seconds`` that stops with ``RecordingTooLong`` as soon as the limit is passed. A stated
    duration is taken as it is: the worker's ``decode`` counts the real samples.
    """
    with _opened(source) as container:
        stream = container.streams.audio[0]
        duration = None
        if stream.duration is not None and stream.time_base is not None:
            duration = float(stream.duration * stream.time_base)
        elif container.duration is not None:
            duration = container.duration / av.time_base
        if duration is None:
            duration = _measure(container, stream, max_seconds, _name(source))
        return AudioInfo(
            duration=duration,
            sample_rate=int(stream.rate or 0),
            channels=int(stream.channels or 0),
            codec=stream.codec_context.name or "",
            container=container.format.name or "",
        )


def _measure(
    container: av.container.InputContainer, stream: av.AudioStream, max_seconds: float | None, name: str
) -> float:
    """Seconds of audio in the stream, from packet durations (a packet without one is decoded)."""
    seconds = 0.0
    try:
        for packet in _packets(container, stream):
            if packet.duration and packet.time_base is not None:
                seconds += float(packet.duration * packet.time_base)
            else:
                try:
                    seconds += sum(frame.samples / frame.sample_rate for frame in packet.decode() if frame.sample_rate)
                except av.error.InvalidDataError:
                    continue  # one bad packet; FFmpeg resyncs on the next
            if max_seconds is not None and seconds > max_seconds + DURATION_SLACK_S:
                raise too_long(name, max_seconds)
    except av.error.FFmpegError as exc:
        if not seconds:
            raise UnsupportedAudio(DAMAGED.format(name=name, reason=_reason(exc))) from exc
        # else: a damaged tail; count what came before it, as decode keeps it
    return seconds


def decode(source: Source, sample_rate: int = SAMPLE_RATE, *, max_seconds: float | None = None) -> np.ndarray:
    """Decode the first audio stream to mono float32 in [-1, 1] at ``sample_rate``.

    Channels are averaged and the rate converted by FFmpeg's resampler; frames are collected as
    int16 and converted once at the end, so the peak is about 6 bytes per output sample.

    Args:
        max_seconds: stop with ``RecordingTooLong`` once the decoded audio passes this length,
            whatever the file's header says.

    Raises:
        EmptyAudio: the file is empty or decodes to no samples.
        UnsupportedAudio: the file is not audio or has no audio track.
        RecordingTooLong: more than ``max_seconds`` of audio.
    """
    return _decoded(source, sample_rate, "mono", max_seconds)


def decode_span(source: Source, start: float, end: float, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """Mono float32 of ``start``..``end`` seconds of the recording; decoding stops at ``end`` (a short sample).

    Only the span is kept: what comes before it is decoded and dropped, so memory stays that of the span
    however late in a long recording it lies.

    Raises:
        UnsupportedAudio: the file is not audio or has no audio track.
    """
    first, stop = int(start * sample_rate), int(end * sample_rate)
    produced, kept = 0, []
    for chunk in _iter_int16(source, sample_rate, "mono", None):
        before = produced
        produced += len(chunk)
        if produced > first:
            kept.append(chunk[max(0, first - before) :])
        if produced >= stop:
            break
    pcm = np.concatenate(kept) if kept else np.zeros(0, dtype=np.int16)
    return pcm[: max(0, stop - first)].astype(np.float32) / 32768.0


def decode_channels(source: Source, sample_rate: int = SAMPLE_RATE, *, max_seconds: float | None = None) -> np.ndarray:
    """Like ``decode``, but a two-channel recording keeps its channels: shape ``(channels, samples)``.

    Interviews and calls are often recorded one person per channel; the diarizer can use that.
    Mono and surround recordings come back downmixed, as ``(1, samples)``.
    """
    with _opened(source) as container:
        channels = container.streams.audio[0].channels
    if channels != 2:
        return decode(source, sample_rate, max_seconds=max_seconds)[None, :]
    return _decoded(source, sample_rate, "stereo", max_seconds).reshape(-1, 2).T  # packed: left, right, ...


def _decoded(source: Source, sample_rate: int, layout: str, max_seconds: float | None) -> np.ndarray:
    chunks = list(_iter_int16(source, sample_rate, layout, max_seconds))
    if not chunks:
        raise EmptyAudio(f"{_name(source)} contains no audio samples.")
    pcm = np.concatenate(chunks)
    del chunks
    gc.collect()  # PyAV frames hold native buffers; release them before the analysis starts
    return pcm.astype(np.float32) / 32768.0


def _iter_int16(source: Source, sample_rate: int, layout: str, max_seconds: float | None) -> Iterator[np.ndarray]:
    """int16 chunks of the resampled audio, counted: past ``max_seconds`` (plus slack) decoding stops."""
    limit = None if max_seconds is None else int((max_seconds + DURATION_SLACK_S) * sample_rate)
    produced = 0
    name = _name(source)

    def counted(outs: list[av.AudioFrame]) -> Iterator[np.ndarray]:
        nonlocal produced
        for out in outs:
            produced += out.samples
            if limit is not None and produced > limit:
                raise too_long(name, float(max_seconds or 0))
            yield out.to_ndarray().reshape(-1).copy()

    resampler: av.AudioResampler | None = None
    setup: tuple[str, str, int] | None = None
    mix_down = False
    with _opened(source) as container:
        for frame in _frames(container, container.streams.audio[0], name):
            piece = _mono(frame) if mix_down else frame
            if resampler is None or _setup(piece) != setup:
                # A stream can change rate or channels part-way (MP3s joined end to end, a damaged frame
                # header); a resampler is fixed to its first frame's, so the old one is emptied first.
                if resampler is not None:
                    yield from counted(resampler.resample(None))
                resampler, setup = av.AudioResampler(format="s16", layout=layout, rate=sample_rate), _setup(piece)
            try:
                outs = resampler.resample(piece)
            except av.error.FFmpegError as exc:
                # FFmpeg has no layout for some channel counts (9, 32, 64...) and cannot mix them down.
                if mix_down or layout != "mono":
                    raise UnsupportedAudio(CHANNELS.format(name=name, channels=len(frame.layout.channels))) from exc
                mix_down, piece = True, _mono(frame)
                resampler, setup = av.AudioResampler(format="s16", layout=layout, rate=sample_rate), _setup(piece)
                outs = resampler.resample(piece)
            yield from counted(outs)
        if resampler is not None:
            yield from counted(resampler.resample(None))  # the resampler's tail


def _setup(frame: av.AudioFrame) -> tuple[str, str, int]:
    """What a resampler is configured for: sample format, channel layout, rate."""
    return frame.format.name, frame.layout.name, frame.sample_rate


def _mono(frame: av.AudioFrame) -> av.AudioFrame:
    """``frame`` as one channel, the mean of all of them, in float (for channel counts FFmpeg has no layout for)."""
    samples = frame.to_ndarray()
    channels = len(frame.layout.channels)
    if not frame.format.is_planar:
        samples = samples.reshape(-1, channels).T  # packed: channel values alternate
    if samples.dtype.kind == "u":  # u8: silence is 128
        samples = (samples.astype(np.float32) - 128.0) / 128.0
    elif samples.dtype.kind == "i":
        samples = samples.astype(np.float32) / 2.0 ** (8 * samples.dtype.itemsize - 1)
    mono = av.AudioFrame.from_ndarray(
        samples.astype(np.float32).mean(axis=0, keepdims=True), format="flt", layout="mono"
    )
    mono.sample_rate, mono.pts, mono.time_base = frame.sample_rate, frame.pts, frame.time_base
    return mono


def _packets(container: av.container.InputContainer, stream: av.AudioStream) -> Iterator[av.Packet[av.AudioStream]]:
    """``container.demux(stream)``, ending cleanly where PyAV cannot end it.

    FLV and MPEG-TS may start a new stream part-way (a video track that begins late). PyAV (18.1) reads every
    packet of such a file and then raises ``IndexError`` while flushing the stream it never listed; by then
    all of ``stream`` has been read, and only its decoder's last few milliseconds are left out.
    """
    try:
        yield from container.demux(stream)
    except IndexError:
        return


def _frames(container: av.container.InputContainer, stream: av.AudioStream, name: str) -> Iterator[av.AudioFrame]:
    """Decoded frames; a damaged tail (truncated mp3, cut download) ends the stream instead of failing."""
    decoded_any = False
    try:
        for packet in _packets(container, stream):
            try:
                for frame in packet.decode():
                    decoded_any = True
                    yield frame
            except av.error.InvalidDataError:
                continue  # one bad packet; FFmpeg resyncs on the next
    except av.error.FFmpegError as exc:
        if not decoded_any:
            raise UnsupportedAudio(DAMAGED.format(name=name, reason=_reason(exc))) from exc
        # else: keep what was decoded before the damage
