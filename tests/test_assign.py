"""Speaker assignment: hand-built words and turns, including a speaker change inside a segment."""

from services.analysis.assign import assign_speakers
from services.schema import Segment, SpeakerTurn, Word


def _segment(*words: tuple[float, float, str]) -> Segment:
    ws = tuple(Word(s, e, w) for s, e, w in words)
    return Segment(ws[0].start, ws[-1].end, " ".join(w.word for w in ws), ws)


def test_a_change_inside_a_segment_splits_it_at_the_word() -> None:
    seg = _segment((0.0, 0.4, "How"), (0.4, 0.6, "are"), (0.6, 1.0, "you?"), (1.3, 1.6, "Fine,"), (1.6, 2.0, "thanks."))
    turns = [SpeakerTurn(0.0, 1.1, "SPEAKER_00"), SpeakerTurn(1.2, 2.1, "SPEAKER_01")]
    out = assign_speakers([seg], turns)
    assert [(s.speaker, s.text) for s in out] == [("SPEAKER_00", "How are you?"), ("SPEAKER_01", "Fine, thanks.")]
    assert (out[1].start, out[1].end) == (1.3, 2.0)
    assert seg.speaker is None  # the input is left alone


def test_word_takes_the_speaker_with_most_overlap() -> None:
    seg = _segment((1.0, 2.0, "overlapping"))
    turns = [SpeakerTurn(0.0, 1.3, "A"), SpeakerTurn(1.2, 3.0, "B")]
    assert assign_speakers([seg], turns)[0].speaker == "B"


def test_word_between_turns_goes_to_nearest_and_far_words_follow_neighbours() -> None:
    seg = _segment((0.0, 0.5, "one"), (5.0, 5.2, "two"), (20.0, 20.5, "lost"))
    turns = [SpeakerTurn(0.0, 0.6, "A"), SpeakerTurn(5.5, 6.0, "B")]
    out = assign_speakers([seg], turns)
    # "two" is 0.3 s from B's turn; "lost" is far from everything and stays with the last speaker
    assert [(s.speaker, s.text) for s in out] == [("A", "one"), ("B", "two lost")]


def test_no_turns_leaves_speakers_empty() -> None:
    seg = _segment((0.0, 0.5, "hello"))
    assert assign_speakers([seg], [])[0].speaker is None
