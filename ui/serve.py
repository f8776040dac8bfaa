"""Start Streamlit on ``app.py`` so that a shared link to any page opens inside the app.

Streamlit still treats a ``pages/`` folder next to the entry script as an old-style multipage app
until the entry script has called ``st.navigation`` once: on a fresh server, a first visit to
``/task?task=...`` would run ``pages/task.py`` on its own (no sidebar, no layout, an extra "app"
entry in the menu). ``st.navigation`` clears that flag on its first call; clearing it before the
server starts makes every first visit, deep links included, go through ``app.py``.

    python -m ui.serve [streamlit run options]      (what ``make run`` does)

It also keeps the pages on this machine unless a sign-in is set: with no ``--server.address`` it
listens on localhost (Streamlit alone would listen on every interface), and a non-local address
without ``PAGES_USERS``/``PAGES_USERS_FILE``, an OIDC ``[auth]`` section or ``ALLOW_OPEN_PAGES`` is
refused with a message that says what to set (``services.runtime.sign_in.exposure_problem``).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from streamlit.runtime.pages_manager import PagesManager
from streamlit.web import cli

APP = Path(__file__).resolve().parents[1] / "app.py"


def listen_address(args: list[str]) -> tuple[str | None, list[str]]:
    """The ``--server.address`` among Streamlit's options (or its environment variable), and the options
    with ``--server.address localhost`` added when none was given."""
    for i, arg in enumerate(args):
        if arg == "--server.address" and i + 1 < len(args):
            return args[i + 1], args
        if arg.startswith("--server.address="):
            return arg.split("=", 1)[1], args
    if "STREAMLIT_SERVER_ADDRESS" in os.environ:
        return os.environ["STREAMLIT_SERVER_ADDRESS"], args
    return "localhost", [*args, "--server.address", "localhost"]


def exposure_check(address: str) -> str | None:
    """Why the pages must not listen on ``address`` with the current settings (None when they may)."""
    from services.config import get_settings
    from services.runtime.sign_in import SignInError, exposure_problem
    from ui.sign_in import oidc_configured, password_users

    settings = get_settings()
    try:
        passwords = bool(password_users(settings))
    except SignInError as exc:
        return str(exc)
    return exposure_problem(address, passwords=passwords, oidc=oidc_configured(), allow_open=settings.allow_open_pages)


def main() -> None:
    address, args = listen_address(sys.argv[1:])
    problem = exposure_check(address or "")
    if problem:
        print(f"FastAudio: {problem}", file=sys.stderr)
        sys.exit(2)
    PagesManager.uses_pages_directory = False  # what st.navigation sets on its first call
    sys.argv = ["streamlit", "run", str(APP), *args]
    sys.exit(cli.main())


if __name__ == "__main__":
    main()
