"""The clustering, smoothing and option pieces on small hand-built inputs."""

from __future__ import annotations

import numpy as np
import pytest

from services.analysis.diarization import clustering, resegment
from services.analysis.diarization.diarize import SpeechEmbeddings, assign_turns, label_turns
from services.analysis.diarization.refine import apply_words
from services.analysis.options import SpeakerOptions
from services.analysis.vad import VadParams, speech_regions
from services.schema import Word


def blobs(centres: np.ndarray, per: int, noise: float, seed: int = 0):
    """Unit vectors scattered around each centre, consecutive in time, 0.4 s apart."""
    rng = np.random.default_rng(seed)
    vectors = np.concatenate([c + noise * rng.standard_normal((per, c.size)) for c in centres])
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    starts = np.arange(len(vectors)) * 0.4
    return vectors.astype(np.float32), np.stack([starts, starts + 1.6], axis=1)


def speaker_centres(k: int, dim: int = 32, seed: int = 1) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal((k, dim))


@pytest.mark.parametrize("k", [1, 2, 3, 5])
def test_count_is_estimated(k):
    vectors, windows = blobs(speaker_centres(k), per=40, noise=0.15)
    labels = clustering.cluster_windows(vectors, windows)
    assert labels.max() + 1 == k
    # each true speaker maps to exactly one cluster
    for s in range(k):
        assert len(set(labels[s * 40 : (s + 1) * 40])) == 1


def test_count_bounds_and_exact_count():
    vectors, windows = blobs(speaker_centres(3), per=40, noise=0.15)
    assert clustering.cluster_windows(vectors, windows, num_speakers=2).max() + 1 == 2
    assert clustering.cluster_windows(vectors, windows, max_speakers=2).max() + 1 == 2
    assert clustering.cluster_windows(vectors, windows, min_speakers=4).max() + 1 == 4


def test_short_recording_uses_threshold_merging():
    vectors, windows = blobs(speaker_centres(2), per=6, noise=0.1)
    assert clustering.cluster_windows(vectors, windows).max() + 1 == 2
    same, windows = blobs(speaker_centres(1), per=12, noise=0.1)
    assert clustering.cluster_windows(same, windows).max() + 1 == 1


def test_long_inputs_are_pooled_into_units():
    windows = np.stack([np.arange(10) * 0.4, np.arange(10) * 0.4 + 1.6], axis=1)
    windows[5:] += 10.0  # a pause: units never span it
    units = clustering.unit_groups(windows, max_units=4)
    assert units.tolist() == [0, 0, 0, 1, 1, 2, 2, 2, 3, 3]
    apart = np.stack([np.arange(10) * 5.0, np.arange(10) * 5.0 + 1.6], axis=1)  # none touch
    assert clustering.unit_groups(apart, max_units=4).max() < 4


def test_estimate_count_from_eigenvalues():
    assert clustering.estimate_count(np.array([0.0, 0.01, 0.02, 0.6, 0.7])) == 3
    assert clustering.estimate_count(np.array([0.0, 0.5, 0.55, 0.6])) == 1
    assert clustering.estimate_count(np.array([0.0, 0.5, 0.55, 0.6]), min_speakers=2) == 2
    assert clustering.estimate_count(np.array([0.0, 0.01, 0.02, 0.6, 0.7]), max_speakers=2) == 2


def test_viterbi_smooths_short_flips_and_keeps_real_changes():
    scores = np.zeros((60, 2))
    scores[:, 0] = 0.1
    scores[10:12, 1] = 0.3  # a 0.1 s blip of speaker 1
    scores[30:, 1] = 0.3  # speaker 1 from frame 30 on
    scores[30:, 0] = 0.0
    path = resegment.viterbi(scores, np.ones(60, dtype=bool), switch_cost=0.6)
    assert path[:30].tolist() == [0] * 30
    assert path[32:].tolist() == [1] * 28


def test_uncovered_frames_carry_the_neighbouring_speaker():
    scores = np.array([[1.0, 0.0]] * 5 + [[0.0, 0.0]] * 5 + [[1.0, 0.0]] * 5)
    informative = np.array([True] * 5 + [False] * 5 + [True] * 5)
    assert resegment.viterbi(scores, informative).tolist() == [0] * 15


def test_frame_scores_follow_the_windows():
    windows = np.array([[0.0, 1.6], [2.0, 3.6]])
    vectors = np.eye(2, dtype=np.float32)
    scores, weight = resegment.frame_scores(windows, vectors, np.eye(2), duration=4.0)
    assert scores[10].argmax() == 0 and scores[55].argmax() == 1
    assert weight[34] == 0.0 and weight[10] > 0.0


def test_label_turns_names_by_first_appearance_and_merges():
    turns = label_turns([(2.0, 3.0, 7), (0.0, 1.0, 4), (1.0, 2.0, 4), (2.5, 4.0, 4)])
    assert [(t.start, t.end, t.speaker) for t in turns] == [
        (0.0, 2.0, "SPEAKER_00"),
        (2.0, 3.0, "SPEAKER_01"),
        (2.5, 4.0, "SPEAKER_00"),
    ]


def test_words_are_never_split_between_speakers():
    path = np.array([0] * 20 + [1] * 20)
    mask = np.ones(40, dtype=bool)
    mask[36:] = False
    words = [Word(0.9, 1.3, "across"), Word(0.2, 0.5, "inside"), Word(1.85, 2.0, "outside")]
    new_path, new_mask = apply_words(path, mask, words)
    assert set(new_path[18:26].tolist()) == {1}  # 2 frames of 0, 6 of 1: the word goes to 1
    assert new_path[:18].tolist() == [0] * 18 and new_path[26:].tolist() == [1] * 14
    np.testing.assert_array_equal(new_mask, mask)  # speech is never extended
    assert path[18] == 0  # input untouched


def test_assign_turns_on_hand_built_embeddings():
    vectors, windows = blobs(speaker_centres(2), per=30, noise=0.1)
    speech = ((0.0, float(windows[-1, 1])),)
    emb = SpeechEmbeddings(speech, windows, vectors, duration=30.0)
    turns = assign_turns(emb)
    assert [t.speaker for t in turns] == ["SPEAKER_00", "SPEAKER_01"]
    assert turns[0].end == pytest.approx(turns[1].start)
    assert 11.0 < turns[0].end < 13.5  # the change is at 12 s (window 30 starts at 12.0)


def test_hysteresis_regions():
    probs = np.array([0.1, 0.6, 0.4, 0.4, 0.1, 0.1, 0.1, 0.4, 0.2, 0.9, 0.9, 0.1], dtype=np.float32)
    regions = speech_regions(probs, 1.0, VadParams(offset=0.35, min_silence=0.0, pad=0.0, min_speech=0.0))
    frame = 0.032
    assert regions == ((round(1 * frame, 3), round(4 * frame, 3)), (round(9 * frame, 3), round(11 * frame, 3)))


@pytest.mark.parametrize(
    "kwargs",
    [
        {"num_speakers": 0},
        {"min_speakers": -1},
        {"max_speakers": 0},
        {"min_speakers": 3, "max_speakers": 2},
        {"num_speakers": 5, "max_speakers": 4},
        {"num_speakers": 1, "min_speakers": 2},
        {"num_speakers": 2.5},
        {"num_speakers": True},
    ],
)
def test_invalid_options_raise(kwargs):
    with pytest.raises(ValueError):
        SpeakerOptions(**kwargs)


def test_valid_options():
    assert SpeakerOptions().bounds(clustering.MAX_SPEAKERS) == (1, clustering.MAX_SPEAKERS)
    assert SpeakerOptions(min_speakers=2, max_speakers=4).bounds(clustering.MAX_SPEAKERS) == (2, 4)
    assert SpeakerOptions(min_speakers=10).bounds(clustering.MAX_SPEAKERS) == (10, 10)
    SpeakerOptions(num_speakers=3, min_speakers=3, max_speakers=3)
