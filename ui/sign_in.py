"""The sign-in in front of every page: Streamlit's OIDC sign-in when ``.streamlit/secrets.toml`` has an
``[auth]`` section, else a name and password checked against ``PAGES_USERS``; nothing when neither is
set (``ui.serve`` then allows only a local address, or ``ALLOW_OPEN_PAGES``).

A password sign-in lasts for the browser session (a reload or a new tab asks again); the OIDC sign-in
is Streamlit's own cookie.
"""

from __future__ import annotations

import streamlit as st

from services.config import Settings
from services.runtime.sign_in import AttemptLimit, SignInError, parse_users, sign_in
from ui.format import plain

USER_KEY = "signed_in_user"


def oidc_configured() -> bool:
    """Whether ``.streamlit/secrets.toml`` configures Streamlit's OIDC sign-in (an ``[auth]`` section)."""
    from streamlit.errors import StreamlitSecretNotFoundError

    try:
        return "auth" in st.secrets
    except (StreamlitSecretNotFoundError, FileNotFoundError):  # no secrets file at all
        return False


def password_users(settings: Settings) -> dict[str, str]:
    """The users of the password sign-in (``PAGES_USERS`` and ``PAGES_USERS_FILE``). Raises ``SignInError``."""
    text = settings.pages_users
    if settings.pages_users_file:
        try:
            text += "\n" + settings.pages_users_file.read_text(encoding="utf-8")
        except OSError as exc:
            raise SignInError(f"PAGES_USERS_FILE {settings.pages_users_file} cannot be read: {exc.strerror}.") from None
    return parse_users(text)


def gate(*, account: bool = False) -> None:
    """Stop the script here until the person is signed in. ``app.py`` and every page call it: a page
    must stay closed even if it is ever run on its own (``streamlit run app.py`` on a fresh server runs
    ``pages/*.py`` directly for a first deep link; see ``ui.serve``). ``account``: also show who is
    signed in and a Sign-out button in the sidebar (app.py, once per run)."""
    from services.config import get_settings

    if not require_sign_in(get_settings(), account=account):
        st.stop()


def require_sign_in(settings: Settings, *, account: bool = True) -> bool:
    """Draw the sign-in and return False until the person is signed in (True when no sign-in is set)."""
    if oidc_configured():
        return _oidc(account)
    try:
        users = password_users(settings)
    except SignInError as exc:
        st.error(plain(exc))
        return False
    if not users:
        return True
    user = st.session_state.get(USER_KEY)
    if user in users:
        if not account:
            return True
        with st.sidebar:
            st.caption(f"Signed in as {plain(user)}")
            st.button("Sign out", key="sign_out", on_click=st.session_state.pop, args=(USER_KEY, None))
        return True
    _password_form(settings, users)
    return False


def _oidc(account: bool) -> bool:
    if st.user.is_logged_in:
        if not account:
            return True
        with st.sidebar:
            st.caption(f"Signed in as {plain(st.user.get('email') or st.user.get('name') or 'you')}")
            st.button("Sign out", key="sign_out", on_click=st.logout)
        return True
    st.title("FastAudio")
    st.button("Sign in", key="sign_in_oidc", type="primary", on_click=st.login)
    return False


def _password_form(settings: Settings, users: dict[str, str]) -> None:
    st.title("Sign in to FastAudio")
    with st.form("sign_in", enter_to_submit=True):
        name = st.text_input("Name", key="sign_in_name")
        password = st.text_input("Password", type="password", key="sign_in_password")
        submitted = st.form_submit_button("Sign in", type="primary")
    if not submitted:
        return
    from redis.exceptions import RedisError

    try:
        outcome = sign_in(name, password, _client(), users, _limit(settings))
    except RedisError as exc:  # the attempt counts live in Redis: without them, no sign-in (fail closed)
        st.error(plain(f"Sign-in is unavailable: the queue (Redis) does not answer ({exc})."))
        return
    if outcome.user is None:
        st.error(plain(outcome.message))
        return
    st.session_state[USER_KEY] = outcome.user
    st.rerun()


def _client() -> str:
    try:
        return st.context.ip_address or "local"
    except AttributeError:
        return "local"


def _limit(settings: Settings) -> AttemptLimit:
    import redis

    return AttemptLimit(
        redis.Redis.from_url(settings.redis_url, socket_timeout=3, socket_connect_timeout=3),
        per_user=settings.sign_in_max_failures_per_user,
        per_client=settings.sign_in_max_failures_per_client,
        window_s=settings.sign_in_window_seconds,
    )
