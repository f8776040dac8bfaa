"""Decode anything with an audio track into 16 kHz mono float32, and probe files before queueing.

PyAV (FFmpeg's libraries, shipped in the ``av`` wheel that faster-whisper already needs) reads
wav (PCM and float), flac, mp3, m4a/aac, ogg/opus, webm and video containers, so no system ffmpeg is
required. Every way a file can fail to be audio ends as ``UnsupportedAudio`` with a message a person
can act on.
"""

from __future__ import annotations

import gc
import os
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Iterator

import av
import numpy as np

from services.errors import EmptyAudio, UnsupportedAudio
from services.schema import SAMPLE_RATE

Source = str | os.PathLike[str] | BinaryIO


@dataclass(frozen=True)
class AudioInfo:
    """What a probe learns about a file without decoding all of it."""

    duration: float
    sample_rate: int
    channels: int
    codec: str
    container: str


def _name(source: Source) -> str:
    if isinstance(source, (str, os.PathLike)):
        return Path(source).name
    return getattr(source, "name", None) or "the upload"


def _open(source: Source) -> av.container.InputContainer:
    if isinstance(source, (str, os.PathLike)) and os.path.getsize(source) == 0:
        raise EmptyAudio(f"{_name(source)} is empty (0 bytes).")
    try:
        container = av.open(source if not isinstance(source, os.PathLike) else os.fspath(source), mode="r")
    except (av.error.FFmpegError, ValueError, UnicodeDecodeError) as exc:
        raise UnsupportedAudio(
            f"{_name(source)} is not an audio file we can read "
            "(expected wav, flac, mp3, m4a, ogg, opus, webm or a video with sound)."
        ) from exc
    if not container.streams.audio:
        container.close()
        raise UnsupportedAudio(f"{_name(source)} has no audio track.")
    return container


def probe(source: Source) -> AudioInfo:
    """Read a file's header: duration, rate, channels. Raises ``UnsupportedAudio`` when it is not audio.

    Where the container states no duration (some streamed webm/ogg files), the audio is decoded once
    to measure it, so the answer is always a number.
    """
    container = _open(source)
    try:
        stream = container.streams.audio[0]
        duration = None
        if stream.duration is not None and stream.time_base is not None:
            duration = float(stream.duration * stream.time_base)
        elif container.duration is not None:
            duration = container.duration / av.time_base
        info = AudioInfo(
            duration=duration if duration is not None else -1.0,
            sample_rate=int(stream.rate or 0),
            channels=int(stream.channels or 0),
            codec=stream.codec_context.name or "",
            container=container.format.name or "",
        )
    finally:
        container.close()
    if info.duration < 0:
        info = AudioInfo(len(decode(source)) / SAMPLE_RATE, info.sample_rate, info.channels, info.codec, info.container)
    return info


def decode(source: Source, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """Decode the first audio stream to mono float32 in [-1, 1] at ``sample_rate``.

    Channels are averaged and the rate converted by FFmpeg's resampler; frames are collected as
    int16 and converted once at the end, so the peak is about 6 bytes per output sample.

    Raises:
        EmptyAudio: the file is empty or decodes to no samples.
        UnsupportedAudio: the file is not audio or has no audio track.
    """
    chunks = list(_iter_int16(source, sample_rate))
    if not chunks:
        raise EmptyAudio(f"{_name(source)} contains no audio samples.")
    pcm = np.concatenate(chunks)
    del chunks
    gc.collect()  # PyAV frames hold native buffers; release them before the analysis starts
    return pcm.astype(np.float32) / 32768.0


def decode_channels(source: Source, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """Like ``decode``, but a two-channel recording keeps its channels: shape ``(channels, samples)``.

    Interviews and calls are often recorded one person per channel; the diarizer can use that.
    Mono and surround recordings come back downmixed, as ``(1, samples)``.
    """
    container = _open(source)
    channels = container.streams.audio[0].channels
    container.close()
    if channels != 2:
        return decode(source, sample_rate)[None, :]
    chunks = list(_iter_int16(source, sample_rate, layout="stereo"))
    if not chunks:
        raise EmptyAudio(f"{_name(source)} contains no audio samples.")
    pcm = np.concatenate(chunks).reshape(-1, 2).T  # packed s16: left, right, left, right, ...
    del chunks
    gc.collect()
    return pcm.astype(np.float32) / 32768.0


def _iter_int16(source: Source, sample_rate: int, layout: str = "mono") -> Iterator[np.ndarray]:
    container = _open(source)
    resampler = av.AudioResampler(format="s16", layout=layout, rate=sample_rate)
    try:
        stream = container.streams.audio[0]
        for frame in _frames(container, stream):
            for out in resampler.resample(frame):
                yield out.to_ndarray().reshape(-1).copy()
        for out in resampler.resample(None):  # flush the resampler's tail
            yield out.to_ndarray().reshape(-1).copy()
    finally:
        container.close()


def _frames(container: av.container.InputContainer, stream: av.AudioStream) -> Iterator[av.AudioFrame]:
    """Decoded frames; a damaged tail (truncated mp3, cut download) ends the stream instead of failing."""
    decoded_any = False
    try:
        for packet in container.demux(stream):
            try:
                for frame in packet.decode():
                    decoded_any = True
                    yield frame
            except av.error.InvalidDataError:
                continue  # one bad packet; FFmpeg resyncs on the next
    except av.error.FFmpegError as exc:
        if not decoded_any:
            raise UnsupportedAudio(f"{_name(container.name)} could not be decoded: {exc}") from exc
        # else: keep what was decoded before the damage
