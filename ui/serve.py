"""Start Streamlit on ``app.py`` so that a shared link to any page opens inside the app.

Streamlit still treats a ``pages/`` folder next to the entry script as an old-style multipage app
until the entry script has called ``st.navigation`` once: on a fresh server, a first visit to
``/task?task=...`` would run ``pages/task.py`` on its own (no sidebar, no layout, an extra "app"
entry in the menu). ``st.navigation`` clears that flag on its first call; clearing it before the
server starts makes every first visit, deep links included, go through ``app.py``.

    python -m ui.serve [streamlit run options]      (what ``make run`` does)
"""

from __future__ import annotations

import sys
from pathlib import Path

from streamlit.runtime.pages_manager import PagesManager
from streamlit.web import cli

APP = Path(__file__).resolve().parents[1] / "app.py"


def main() -> None:
    PagesManager.uses_pages_directory = False  # what st.navigation sets on its first call
    sys.argv = ["streamlit", "run", str(APP), *sys.argv[1:]]
    sys.exit(cli.main())


if __name__ == "__main__":
    main()
