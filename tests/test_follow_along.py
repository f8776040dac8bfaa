"""What the follow-along player gets of a result (services.results.follow_along), and its files.

The player itself (highlight, scrolling, speed, keys) is exercised in Chromium:
tests/browser/test_follow_along.py.
"""

from __future__ import annotations

import json
import re

from services.results.charts import speaker_colors
from services.results.follow_along import NO_SPEAKER, follow_along_data
from services.schema import AnalysisResult, Segment, Speaker
from ui.follow_along import FOLDER

HOSTILE = '<img src=x onerror="alert(1)">\u202e\n**bold** [a](http://evil.example)'


def _result() -> AnalysisResult:
    speakers = (Speaker("SPEAKER_00", HOSTILE, 3.0), Speaker("SPEAKER_01", "Sheila", 2.0))
    segments = (
        Segment(4.0, 6.5, "second,\u2028on two lines", speaker="SPEAKER_01"),
        Segment(0.5, 3.25, f" {HOSTILE} ", speaker="SPEAKER_00"),
        Segment(7.0, 7.0, "nobody", speaker=None),
        Segment(4.0, 5.0, "same start, later index", speaker="SPEAKER_00"),
    )
    return AnalysisResult(duration=9.8765, language="en", model="tiny.en", speakers=speakers, segments=segments)


def test_segments_in_playing_order_keep_their_index_clock_and_speaker() -> None:
    data = follow_along_data(_result())
    assert [(s["i"], s["start"], s["end"], s["clock"]) for s in data["segments"]] == [
        (1, 0.5, 3.25, "0:00"),
        (0, 4.0, 6.5, "0:04"),
        (3, 4.0, 5.0, "0:04"),
        (2, 7.0, 7.0, "0:07"),
    ]
    assert [s["speaker"] for s in data["segments"]] == [0, 1, 0, NO_SPEAKER]
    assert data["duration"] == 9.877


def test_typed_text_stays_as_typed_on_one_line() -> None:
    """No escaping here (the player writes textContent, so an escape would show); only line breaks go."""
    result = _result()
    data = follow_along_data(result)
    flat = HOSTILE.replace("\n", " ")
    assert data["speakers"] == [
        {"name": flat, "color": speaker_colors(result)["SPEAKER_00"]},
        {"name": "Sheila", "color": speaker_colors(result)["SPEAKER_01"]},
    ]
    assert [s["text"] for s in data["segments"]][:2] == [flat, "second, on two lines"]
    json.dumps(data)  # what the component gets: JSON


def test_the_player_is_vendored_and_writes_text_only() -> None:
    """Every file the component loads is in its folder; typed text reaches the page as textContent."""
    page = (FOLDER / "index.html").read_text()
    loaded = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert loaded and all((FOLDER / name).is_file() for name in loaded), loaded
    script = (FOLDER / "follow_along.js").read_text()
    assert not re.search(r"innerHTML|outerHTML|insertAdjacentHTML|document\.write|eval\(|new Function", script)
    assert "textContent" in script and "script-src 'self'" in page
