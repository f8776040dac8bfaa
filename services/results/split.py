"""Split a speaker: "this speaker is really two (or N) people", from the stored voice embeddings alone.

The analysis kept its voice embeddings (``services.analysis.artifacts``). A split takes the windows that fall
inside the chosen speaker's turns, clusters only those into ``into`` groups (the same clustering as
the analysis, ``services.analysis.diarization.clustering``, told the count), and re-assigns each 50 ms frame of that
speaker's turns to the closest group (``services.analysis.diarization.resegment``). Everything else stays as it was:

- other speakers' turns and segments are not touched, so their ids, names and corrections still apply;
- the chosen speaker is what the analyst sees, merges included: splitting a speaker that two machine
  speakers were merged into re-separates them (the merge is dropped), and the parts take back the
  machine ids they overlap most, so their names come back too; other parts get new ids;
- a correction of a segment that comes out unchanged (same span and text) is kept, with its speaker
  change; a corrected segment that the split cuts up loses its correction (``dropped`` counts them).

``split_speaker`` is pure: it returns a new machine result and the corrections that go with it.
Storing both is ``services.jobs.split_task``.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from services.analysis.artifacts import TimeBase
from services.analysis.assign import assign_speakers, mark_overlaps
from services.analysis.diarization import clustering, resegment
from services.analysis.diarization.diarize import CHANNEL_GAP, SpeechEmbeddings
from services.analysis.options import MAX_PARTS
from services.analysis.trim import TimeMap
from services.analysis.turns import intersection_length, speakers_of, union
from services.errors import InvalidEdit
from services.results.edits import Edits, SegmentEdit, SpeakerLabel, known_speakers, next_speaker_id, tidy_text
from services.schema import AnalysisResult, Segment, SpeakerTurn

INSIDE = 0.5
"""A window belongs to the speaker when at least half of it lies inside the speaker's turns. Measured
(``bench.split_suite``, 24 stitched 3-8 voice conversations): mean DER after the split 22.0 / 22.3 / 22.6 %
at 0.25 / 0.5 / 0.75, so the middle of that flat range."""
MIN_WINDOWS_PER_PART = 2
"""A split needs at least this many windows per part: one window is one 1.6 s sample of a voice, and the
clustering joins lone windows to their nearest group anyway (``clustering.SMALL``)."""


@dataclass(frozen=True)
class Split:
    """What a split produced: the new machine result and the corrections that still apply to it."""

    result: AnalysisResult
    edits: Edits
    parts: tuple[str, ...]
    """The speaker ids the speaker became, largest talk time first."""
    dropped: int = 0
    """Segment corrections that no longer apply (their segment was cut up by the split)."""


def split_speaker(
    result: AnalysisResult,
    embeddings: SpeechEmbeddings,
    edits: Edits,
    speaker_id: str,
    into: int,
    *,
    time_base: TimeBase | None = None,
) -> Split:
    """Split ``speaker_id`` (as the analyst sees it, after merges) into ``into`` speakers.

    Args:
        result: the machine's result (never the edited view).
        embeddings: the voice embeddings the analysis stored for it.
        edits: the analysts' corrections of ``result``.
        time_base: where the analysed audio lies in the recording, for recordings whose silence was cut.

    Raises:
        InvalidEdit: ``into`` is out of range, the speaker has no speech of its own in the machine's
            result, or too little to split.
    """
    started = time.perf_counter()
    if isinstance(into, bool) or not isinstance(into, int) or not 2 <= into <= MAX_PARTS:
        raise InvalidEdit(f"A speaker can be split into 2 to {MAX_PARTS} speakers, not {into!r}.")
    members = [s.id for s in result.speakers if edits.resolve(s.id) == speaker_id]
    spans = union((t.start, t.end) for t in result.turns if t.speaker in members)
    if not spans:
        raise InvalidEdit(f"{speaker_id} has no speech of its own in the analysis, so there is nothing to split.")
    windows = result_times(embeddings, time_base)
    chosen = np.flatnonzero(_share_inside(windows, spans) >= INSIDE)
    if chosen.size < into * MIN_WINDOWS_PER_PART:
        raise InvalidEdit(f"{speaker_id} speaks too little ({chosen.size} voice windows) to be split into {into}.")
    vectors = embeddings.vectors[chosen]
    labels = clustering.cluster_windows(vectors, embeddings.windows[chosen], num_speakers=into)
    pieces = _pieces(windows[chosen], vectors, labels, spans, result.duration)
    if len({group for _a, _b, group in pieces}) < into:
        raise InvalidEdit(
            f"{speaker_id} could not be split into {into}: not every part found speaks on its own anywhere "
            "(the voices overlap in time, or sound too alike here). Try fewer parts."
        )
    ids = _part_ids(pieces, result, edits, members, speaker_id)
    parts = [SpeakerTurn(start, end, ids[label]) for start, end, label in pieces]
    turns = sorted(
        [t for t in result.turns if t.speaker not in members] + parts, key=lambda t: (t.start, t.end, t.speaker)
    )
    segments = mark_overlaps(_segments(result.segments, members, parts), turns)  # overlap names follow the parts
    new = replace(
        result,
        speakers=tuple(speakers_of(turns)),
        segments=tuple(segments),
        turns=tuple(turns),
        timings={**result.timings, "split": time.perf_counter() - started},
    )
    kept, dropped = _carry(result, new, edits, members, set(ids.values()))
    talk = {s.id: s.talk_time for s in new.speakers}
    order = tuple(sorted(set(ids.values()), key=lambda sid: -talk.get(sid, 0.0)))
    return Split(result=new, edits=kept, parts=order, dropped=dropped)


def result_times(embeddings: SpeechEmbeddings, time_base: TimeBase | None) -> np.ndarray:
    """The windows' (start, end) on the result's time line: channels folded, cut silence put back."""
    windows = np.asarray(embeddings.windows, dtype=np.float64).reshape(-1, 2).copy()
    if embeddings.channels > 1:
        stride = embeddings.duration + CHANNEL_GAP
        windows -= np.floor(windows[:, :1] / stride) * stride
    if time_base is not None:
        tmap = TimeMap(time_base.spans, edge=time_base.edge)
        windows = np.array([tmap.interval(a, b) for a, b in windows], dtype=np.float64).reshape(-1, 2)
    return windows


def _share_inside(windows: np.ndarray, spans: Sequence[tuple[float, float]]) -> np.ndarray:
    """For each window, the share of its length inside ``spans``."""
    lengths = np.maximum(windows[:, 1] - windows[:, 0], 1e-9)
    inside = np.array([intersection_length([(a, b)], spans) for a, b in windows])
    return inside / lengths


def _pieces(
    windows: np.ndarray, vectors: np.ndarray, labels: np.ndarray, spans: Sequence[tuple[float, float]], duration: float
) -> list[tuple[float, float, int]]:
    """The speaker's spans cut where the closest group changes: (start, end, group), exact at the span ends."""
    centres = resegment.centroids(vectors, labels)
    frames = resegment.FRAME
    scores, weight = resegment.frame_scores(windows, vectors, centres, max(duration, float(windows[:, 1].max())))
    mask = resegment.speech_mask(spans, len(scores))
    path = np.zeros(len(scores), dtype=int)
    inside = np.flatnonzero(mask)
    path[inside] = resegment.viterbi(scores[inside], weight[inside] > 0)
    pieces = []
    for start, end in spans:
        first = min(round(start / frames), len(path) - 1)
        last = max(first + 1, min(round(end / frames), len(path)))
        run = path[first:last]
        cuts = np.flatnonzero(np.diff(run)) + 1
        bounds = [float(start)] + [round(float(first + c) * frames, 3) for c in cuts] + [float(end)]
        marks = [int(run[0])] + [int(run[c]) for c in cuts]
        pieces += [(a, b, m) for a, b, m in zip(bounds[:-1], bounds[1:], marks, strict=False) if b > a]
    return pieces


def _part_ids(
    pieces: list[tuple[float, float, int]], result: AnalysisResult, edits: Edits, members: list[str], speaker_id: str
) -> dict[int, str]:
    """A speaker id for each group: the machine id (among the merged ones) it overlaps most, else a new one.

    A group keeps ``speaker_id`` when it overlaps it most, so a split of one machine speaker leaves the
    id, and its name, with the larger part.
    """
    groups = sorted({g for _a, _b, g in pieces})
    own = {m: union((t.start, t.end) for t in result.turns if t.speaker == m) for m in members}
    mine = {g: union((a, b) for a, b, x in pieces if x == g) for g in groups}
    pairs = sorted(
        ((intersection_length(mine[g], own[m]), m == speaker_id, g, m) for g in groups for m in members), reverse=True
    )
    ids: dict[int, str] = {}
    for shared, _own, group, member in pairs:
        if shared > 0 and group not in ids and member not in ids.values():
            ids[group] = member
    known = known_speakers(result, edits)
    for group in groups:
        if group not in ids:
            ids[group] = next_speaker_id(known + list(ids.values()))
    return ids


def _segments(segments: Sequence[Segment], members: list[str], parts: list[SpeakerTurn]) -> list[Segment]:
    """The member speakers' segments given to the parts (split where the part changes); others as they are."""
    out: list[Segment] = []
    for segment in segments:
        if segment.speaker not in members:
            out.append(segment)
            continue
        pieces = assign_speakers([segment], parts)
        fallback = pieces[0].speaker if pieces and pieces[0].speaker else parts[0].speaker
        out += [p if p.speaker else p.with_speaker(fallback) for p in pieces]
    return out


def _carry(
    old: AnalysisResult, new: AnalysisResult, edits: Edits, members: list[str], parts: set[str]
) -> tuple[Edits, int]:
    """The corrections of ``old`` that apply to ``new``, and how many segment corrections were dropped.

    Names stay with their ids (a member id no part took loses its label); the merges of the split
    speaker's members are undone; segment corrections follow segments that came out unchanged.
    """
    labels = []
    for label in edits.labels:
        if label.speaker_id in members:
            if label.speaker_id in parts and label.name:
                labels.append(SpeakerLabel(label.speaker_id, name=label.name))
            continue
        labels.append(label)
    where = {_identity(s): i for i, s in enumerate(new.segments)}
    kept, dropped = [], 0
    for edit in edits.segments:
        index = where.get(_identity(old.segments[edit.index])) if 0 <= edit.index < len(old.segments) else None
        if index is None:
            dropped += 1
            continue
        kept.append(SegmentEdit(index=index, text=edit.text, speaker=edit.speaker, edited_at=edit.edited_at))
    return Edits(labels=tuple(labels), segments=tuple(sorted(kept, key=lambda e: e.index))), dropped


def _identity(segment: Segment) -> tuple[float, float, str]:
    return round(segment.start, 3), round(segment.end, 3), tidy_text(segment.text)
