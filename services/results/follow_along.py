"""What the task page's follow-along player needs of a result, as plain JSON-ready data.

The player (``ui/components/follow_along/``) highlights the segment being spoken, keeps it in view
and draws a small timeline with a playhead. It gets the segments in playing order (by start), each
with its clock time already written, and the speakers with their names and the colours of the
Plotly timeline. Names and texts are typed by people: they stay as typed here (the player puts them
into the page as text, never as HTML); only line breaks and control characters become spaces, so
that a segment is one line.
"""

from __future__ import annotations

from typing import Any

from services.results.charts import speaker_colors
from services.results.exports import short_clock
from services.results.text_safety import one_line
from services.schema import AnalysisResult

NO_SPEAKER = -1
"""The speaker index of a segment no speaker was given."""


def follow_along_data(result: AnalysisResult) -> dict[str, Any]:
    """The player's view of ``result``.

    Returns:
        ``{"duration": seconds, "speakers": [{"name", "color"}...], "segments": [{"i", "start", "end",
        "clock", "speaker", "text"}...]}``: ``speaker`` indexes ``speakers`` (``NO_SPEAKER`` for none),
        ``i`` is the segment's index in the result (what the transcript's ▶ and ✎ refer to), and
        the segments are sorted by start.
    """
    colors = speaker_colors(result)
    order = {s.id: n for n, s in enumerate(result.speakers)}
    speakers = [{"name": one_line(s.name), "color": colors[s.id]} for s in result.speakers]
    segments = [
        {
            "i": i,
            "start": round(seg.start, 3),
            "end": round(max(seg.end, seg.start), 3),
            "clock": short_clock(seg.start),
            "speaker": order.get(seg.speaker or "", NO_SPEAKER),
            "text": one_line(seg.text).strip(),
        }
        for i, seg in sorted(enumerate(result.segments), key=lambda item: (item[1].start, item[0]))
    ]
    return {"duration": round(result.duration, 3), "speakers": speakers, "segments": segments}
