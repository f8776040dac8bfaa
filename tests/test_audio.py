"""Decoding every format a user uploads into 16 kHz mono float32, and clear errors for non-audio."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from services.analysis.audio import decode, probe
from services.errors import EmptyAudio, UnsupportedAudio
from tests.media import encode_audio, encode_video_only, resample


@pytest.fixture(scope="module")
def jfk_audio(data: Path) -> np.ndarray:
    return decode(data / "jfk.flac")


def test_flac_24bit_stereo_44k_becomes_16k_mono(data: Path, jfk_audio: np.ndarray) -> None:
    info = probe(data / "jfk.flac")
    assert (info.sample_rate, info.channels) == (44100, 2)
    assert jfk_audio.dtype == np.float32 and jfk_audio.ndim == 1
    assert len(jfk_audio) == 11 * 16000
    assert 0.3 < np.abs(jfk_audio).max() <= 1.0


def test_float_wav_and_mp3_and_stereo(data: Path) -> None:
    assert len(decode(data / "dev00.wav")) == pytest.approx(30 * 16000, abs=2)
    assert len(decode(data / "multilingual.mp3")) / 16000 == pytest.approx(59.9, abs=0.1)
    assert len(decode(data / "stereo_diarization.wav")) == 5 * 16000


@pytest.mark.parametrize(
    ("name", "codec", "rate", "channels", "fmt"),
    [
        ("clip.m4a", "aac", 44100, 2, "mp4"),
        ("clip.ogg", "libopus", 48000, 1, "ogg"),
        ("clip.opus", "libopus", 48000, 2, "opus"),
        ("clip.webm", "libopus", 48000, 1, "webm"),
        ("clip.mp3", "libmp3lame", 22050, 1, "mp3"),
        ("phone.wav", "pcm_s16le", 8000, 1, "wav"),
        ("surround.wav", "pcm_s16le", 48000, 6, "wav"),
        ("float.wav", "pcm_f32le", 16000, 1, "wav"),
    ],
)
def test_encoded_formats_decode_to_the_same_speech(
    tmp_path: Path, jfk_audio: np.ndarray, name: str, codec: str, rate: int, channels: int, fmt: str
) -> None:
    source = resample(jfk_audio[: 3 * 16000], 16000, rate)
    path = encode_audio(tmp_path / name, source, rate, codec, channels=channels, fmt=fmt)
    decoded = decode(path)
    assert abs(len(decoded) / 16000 - 3.0) < 0.1
    # the same waveform comes back (codec delay aside): strongly correlated with the original
    n = min(len(decoded), 3 * 16000)
    best = max(np.corrcoef(decoded[lag : lag + n - 2000], jfk_audio[: n - 2000])[0, 1] for lag in range(0, 1600, 8))
    assert best > 0.9


def test_text_renamed_wav_is_a_clear_error(tmp_path: Path) -> None:
    fake = tmp_path / "notes.wav"
    fake.write_text("Meeting notes: remember to send the report.\n" * 20)
    with pytest.raises(UnsupportedAudio, match=r"notes\.wav is not an audio file"):
        decode(fake)
    with pytest.raises(UnsupportedAudio):
        probe(fake)


def test_empty_file(tmp_path: Path) -> None:
    empty = tmp_path / "empty.mp3"
    empty.write_bytes(b"")
    with pytest.raises(EmptyAudio, match="empty"):
        probe(empty)


def test_video_without_audio_track(tmp_path: Path) -> None:
    video = encode_video_only(tmp_path / "screen.mp4")
    with pytest.raises(UnsupportedAudio, match="no audio track"):
        probe(video)


def test_truncated_mp3_keeps_what_was_decodable(tmp_path: Path, data: Path) -> None:
    cut = tmp_path / "cut.mp3"
    cut.write_bytes((data / "multilingual.mp3").read_bytes()[:100_000])
    audio = decode(cut)
    assert 20 < len(audio) / 16000 < 30


def test_mp3s_joined_end_to_end_at_different_rates_decode_whole(tmp_path: Path, jfk_audio: np.ndarray) -> None:
    """Files joined byte for byte (podcast parts, a recorder's split files) change rate and channels mid-stream;
    so can one damaged frame header. Every part is decoded (before: "Frame does not match AudioResampler setup")."""
    first, second = jfk_audio[: 5 * 16000], jfk_audio[5 * 16000 : 10 * 16000]
    joined = tmp_path / "joined.mp3"
    joined.write_bytes(
        encode_audio(tmp_path / "a.mp3", first, 16000, "libmp3lame", fmt="mp3").read_bytes()
        + encode_audio(
            tmp_path / "b.mp3", resample(second, 16000, 44100), 44100, "libmp3lame", channels=2, fmt="mp3"
        ).read_bytes()
    )
    audio = decode(joined)
    assert abs(audio.size / 16000 - 10.0) < 0.2
    level = lambda x: 20 * np.log10(np.sqrt(np.mean(x**2)))  # noqa: E731
    assert abs(level(audio[5 * 16000 + 4000 :]) - level(second[4000:])) < 1.0  # the second part is there, at its level


def test_a_stream_that_starts_part_way_does_not_cut_the_audio(tmp_path: Path) -> None:
    """A video track that begins 30 s into an FLV: every second of the audio is decoded (before: IndexError
    from PyAV once the file was read, an unexpected error in the task)."""
    from tests.hostile_media import flv_with_late_video

    path = flv_with_late_video(tmp_path / "late.flv", seconds=40.0)
    assert abs(probe(path).duration - 40.0) < 0.2
    assert abs(decode(path).size / 16000 - 40.0) < 0.2


# --- hostile files: lengths that lie, files that point elsewhere -------------------------------------


def test_a_header_that_understates_the_length_is_caught_by_counting_samples(tmp_path: Path) -> None:
    from services.errors import RecordingTooLong
    from tests.hostile_media import lying_flac

    liar = lying_flac(tmp_path / "liar.flac", real_s=150, claimed_s=1)
    assert probe(liar).duration == 1.0  # the header's claim, which decode must not trust
    with pytest.raises(RecordingTooLong, match=r"liar\.flac is longer than 1 minute, the limit"):
        decode(liar, max_seconds=60)
    assert abs(len(decode(liar, max_seconds=180)) / 16000 - 150) < 1  # within the limit: what is really there


def test_a_file_without_a_length_is_measured_up_to_the_limit_in_constant_memory(tmp_path: Path) -> None:
    import resource

    from services.errors import RecordingTooLong
    from tests.hostile_media import endless_wav, lying_flac, raw_adts

    unknown = lying_flac(tmp_path / "unknown.flac", real_s=1800, claimed_s=0)  # 30 minutes, no length
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with pytest.raises(RecordingTooLong, match="longer than 10 minutes"):
        probe(unknown, max_seconds=600)
    assert abs(probe(unknown).duration - 1800) < 1
    grew_mib = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert grew_mib < 50  # decoding it whole would hold 30 min x 16 kHz x 6 bytes = 165 MiB
    assert abs(probe(endless_wav(tmp_path / "endless.wav", 5)).duration - 5) < 0.1
    assert abs(probe(raw_adts(tmp_path / "raw.aac", 5)).duration - 5) < 0.3


@pytest.mark.parametrize("kind", ["hls", "m3u", "concat"])
@pytest.mark.parametrize("target", ["absolute", "relative", "file-url", "http"])
def test_playlists_and_lists_of_other_files_are_refused(
    tmp_path: Path, jfk_audio: np.ndarray, kind: str, target: str
) -> None:
    from tests.hostile_media import concat_list, hls_playlist, m3u_playlist

    secret = encode_audio(tmp_path / "secret.ts", jfk_audio[: 3 * 16000], 16000, "aac", fmt="mpegts")
    named = {
        "absolute": str(secret),
        "relative": secret.name,
        "file-url": f"file://{secret}",
        "http": "http://127.0.0.1:9/x.ts",
    }
    make = {"hls": hls_playlist, "m3u": m3u_playlist, "concat": concat_list}[kind]
    listing = make(tmp_path / f"list.{ {'hls': 'm3u8', 'm3u': 'm3u', 'concat': 'ffconcat'}[kind] }", named[target])
    with pytest.raises(UnsupportedAudio, match="is not an audio file we can read"):
        probe(listing)
    with pytest.raises(UnsupportedAudio, match="is not an audio file we can read"):
        decode(listing)


def test_only_self_contained_demuxers_are_allowed() -> None:
    from services.analysis.audio import ALLOWED_DEMUXERS

    for reader in (
        "hls",
        "concat",
        "dash",
        "webm_dash_manifest",
        "sdp",
        "rtsp",
        "image2",
        "ffmetadata",
        "tee",
        "lavfi",
    ):
        assert reader not in ALLOWED_DEMUXERS


def test_a_span_is_the_same_samples_as_the_whole_decode(data: Path, jfk_audio: np.ndarray) -> None:
    from services.analysis.audio import decode_span

    span = decode_span(data / "jfk.flac", 3.0, 5.5)
    np.testing.assert_array_equal(span, jfk_audio[48_000:88_000])
    assert decode_span(data / "jfk.flac", 10.5, 20.0).size == jfk_audio.size - 168_000  # past the end: what is there


def test_a_late_span_of_a_long_recording_holds_only_the_span(tmp_path: Path) -> None:
    import tracemalloc

    from services.analysis.audio import decode_span
    from tests.hostile_media import lying_flac

    long = lying_flac(tmp_path / "long.flac", real_s=1800, claimed_s=1800)  # 30 minutes
    tracemalloc.start()
    try:
        span = decode_span(long, 1790.0, 1795.0)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert span.size == 5 * 16_000
    assert peak < 8 * 2**20  # keeping everything before the span: 1,795 s x 16 kHz x 2 bytes = 55 MiB


@pytest.mark.parametrize(
    ("header", "reason"),
    [
        ({"channels": 0}, "its header states no audio channels"),
        ({"format_tag": 0x1234}, "its audio is in a format we have no decoder for"),
        ({"rate": 1}, "its header states a sample rate of 1 Hz"),  # 1 s of samples would be 4.4 hours
        ({"rate": 2**31 - 1}, "its header states a sample rate of 2,147,483,647 Hz"),  # FFmpeg: out of memory
    ],
)
def test_a_header_that_makes_decoding_impossible_is_a_clear_error(
    tmp_path: Path, header: dict[str, int], reason: str
) -> None:
    from tests.hostile_media import crafted_wav

    path = crafted_wav(tmp_path / "odd.wav", **header)
    for step in (probe, decode):
        with pytest.raises(UnsupportedAudio) as caught:
            step(path)
        message = str(caught.value)
        assert message.startswith(f"odd.wav could not be decoded ({reason})") and "Export it again as WAV" in message


@pytest.mark.parametrize("count", [9, 32, 64])
def test_channel_counts_without_a_layout_are_mixed_down(tmp_path: Path, jfk_audio: np.ndarray, count: int) -> None:
    from tests.hostile_media import many_channel_wav

    speech = jfk_audio[: 3 * 16000]
    silent = np.zeros_like(speech)
    path = many_channel_wav(tmp_path / f"{count}.wav", [speech, *[silent] * (count - 1)])
    assert probe(path).channels == count
    mixed = decode(path)  # FFmpeg's resampler refuses these layouts; the mean of the channels instead
    assert mixed.size == speech.size
    np.testing.assert_allclose(mixed * count, speech, atol=count * 2e-4 + 2e-3)
