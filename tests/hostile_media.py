"""Hostile media made by the tests themselves: files whose headers lie about (or hide) their length,
and playlists and lists that point at other files."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np

from tests.media import encode_audio

FLAC_TOTAL_SAMPLES_AT = 4 + 4 + 10
"""Byte offset of STREAMINFO's packed rate/channels/bits/total-samples field: 'fLaC', the block
header, then min/max block size (2+2) and min/max frame size (3+3)."""


def tone(seconds: float, rate: int = 16000, level: float = 0.0) -> np.ndarray:
    """``seconds`` of a quiet tone (or, with level 0, silence: what compresses best)."""
    t = np.arange(int(seconds * rate), dtype=np.float32) / rate
    return (level * np.sin(2 * np.pi * 220 * t)).astype(np.float32)


def set_flac_total_samples(path: Path, total: int) -> Path:
    """Rewrite the total-samples count in a FLAC file's STREAMINFO (0 means 'unknown')."""
    data = bytearray(path.read_bytes())
    assert data[:4] == b"fLaC" and data[4] & 0x7F == 0, "STREAMINFO must be the first block"
    (packed,) = struct.unpack_from(">Q", data, FLAC_TOTAL_SAMPLES_AT)
    packed = (packed & ~((1 << 36) - 1)) | (total & ((1 << 36) - 1))
    struct.pack_into(">Q", data, FLAC_TOTAL_SAMPLES_AT, packed)
    path.write_bytes(bytes(data))
    return path


def lying_flac(path: Path, real_s: float, claimed_s: float, rate: int = 8000) -> Path:
    """A FLAC file that holds ``real_s`` seconds of silence but whose header claims ``claimed_s``
    (0: no length at all). Silence compresses to a few bytes per block: minutes in kilobytes."""
    encode_audio(path, tone(real_s, rate), rate, "flac", fmt="flac")
    return set_flac_total_samples(path, int(claimed_s * rate))


def endless_wav(path: Path, seconds: float, rate: int = 16000) -> Path:
    """A WAV whose RIFF and data sizes say 0xFFFFFFFF (how streaming recorders write them)."""
    encode_audio(path, tone(seconds, rate, 0.1), rate, "pcm_s16le", fmt="wav")
    data = bytearray(path.read_bytes())
    struct.pack_into("<I", data, 4, 0xFFFFFFFF)
    at = data.find(b"data")
    struct.pack_into("<I", data, at + 4, 0xFFFFFFFF)
    path.write_bytes(bytes(data))
    return path


def many_channel_wav(path: Path, channels: list[np.ndarray], rate: int = 16000) -> Path:
    """A 16-bit WAV with one array per channel: any count, also those FFmpeg knows no layout for (9, 32, 64)."""
    pcm = (np.clip(np.stack(channels, axis=1), -1, 1) * 32767).astype("<i2").tobytes()  # packed: frame by frame
    return _write_wav(path, pcm, format_tag=1, channels=len(channels), rate=rate)


def crafted_wav(path: Path, *, rate: int = 16000, channels: int = 1, format_tag: int = 1, seconds: float = 1.0) -> Path:
    """Real 16-bit mono samples behind a WAV header that states whatever it is told (no channels, a rate
    of 1 Hz or of 2**31 - 1 Hz, a format tag no decoder knows)."""
    pcm = (tone(seconds, 16000, 0.1) * 32767).astype("<i2").tobytes()
    return _write_wav(path, pcm, format_tag=format_tag, channels=channels, rate=rate)


def _write_wav(path: Path, pcm: bytes, *, format_tag: int, channels: int, rate: int) -> Path:
    """16-bit samples behind a WAV header stating ``format_tag``, ``channels`` and ``rate`` as given."""
    block = 2 * max(channels, 1)
    fmt = struct.pack("<HHIIHH", format_tag, channels, rate, (rate * block) & 0xFFFFFFFF, block & 0xFFFF, 16)
    riff = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt + b"data" + struct.pack("<I", len(pcm)) + pcm
    path.write_bytes(b"RIFF" + struct.pack("<I", len(riff)) + riff)
    return path


def flv_with_late_video(path: Path, seconds: float = 40.0, rate: int = 22050) -> Path:
    """An audio FLV (MP3, a quiet tone) into which a video tag is put three quarters of the way: a stream that
    appears after FFmpeg has finished probing the file, as when a screen recording's picture starts late."""
    data = encode_audio(path, tone(seconds, rate, 0.3), rate, "libmp3lame", fmt="flv").read_bytes()
    position = struct.unpack(">I", data[5:9])[0] + 4  # past the header and the first "previous tag size"
    starts = []
    while position + 11 <= len(data):
        starts.append(position)
        position += 11 + int.from_bytes(data[position + 1 : position + 4], "big") + 4
    at = starts[len(starts) * 3 // 4]
    payload = b"\x12" + bytes(8)  # an inter frame of Sorenson H.263 video
    tag = b"\x09" + len(payload).to_bytes(3, "big") + data[at + 4 : at + 8] + bytes(3) + payload
    path.write_bytes(data[:at] + tag + struct.pack(">I", len(tag)) + data[at:])
    return path


def raw_adts(path: Path, seconds: float, rate: int = 16000) -> Path:
    """A raw AAC (ADTS) stream: no container, no length anywhere."""
    return encode_audio(path, tone(seconds, rate, 0.1), rate, "aac", fmt="adts")


def hls_playlist(path: Path, target: str) -> Path:
    path.write_text(f"#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:10,\n{target}\n#EXT-X-ENDLIST\n")
    return path


def m3u_playlist(path: Path, target: str) -> Path:
    path.write_text(f"#EXTM3U\n#EXTINF:10,secret\n{target}\n")
    return path


def concat_list(path: Path, target: str) -> Path:
    path.write_text(f"ffconcat version 1.0\nfile '{target}'\n")
    return path
