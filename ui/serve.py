"""Start Streamlit on ``app.py``, on this machine only unless a sign-in is set.

    python -m ui.serve [streamlit run options]      (what ``make run``, the Dockerfile and compose run)

Deep links need nothing special: the pages live in ``app_pages/``, which Streamlit does not take
for an old-style multipage folder (docs/ARCHITECTURE.md). What this adds to ``streamlit run`` is
the exposure check: with no ``--server.address`` it listens on localhost (Streamlit alone would
listen on every interface), and a non-local address without ``PAGES_USERS``/``PAGES_USERS_FILE``,
an OIDC ``[auth]`` section or ``ALLOW_OPEN_PAGES`` is refused with a message that says what to set
(``services.runtime.sign_in.exposure_problem``).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

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
    return exposure_problem(
        address,
        passwords=passwords,
        oidc=oidc_configured(),
        allow_open=settings.allow_open_pages,
        published=settings.published_address,
    )


def main() -> None:
    address, args = listen_address(sys.argv[1:])
    problem = exposure_check(address or "")
    if problem:
        print(f"FastAudio: {problem}", file=sys.stderr)
        sys.exit(2)
    sys.argv = ["streamlit", "run", str(APP), *args]
    sys.exit(cli.main())


if __name__ == "__main__":
    main()
