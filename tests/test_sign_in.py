"""Sign-in for the pages: hashes, the attempt limit in the real Redis, the page gate, and the refusal
to listen beyond localhost without a sign-in."""

from __future__ import annotations

import subprocess
import sys
import uuid

import pytest
import redis

from services.config import get_settings
from services.runtime.context import AppContext
from services.runtime.sign_in import (
    AttemptLimit,
    SignInError,
    exposure_problem,
    hash_password,
    parse_users,
    sign_in,
    verify_password,
)
from tests.helpers import ROOT, app_test, child_env, shown

PASSWORD = "correct horse battery"


@pytest.fixture(scope="module")
def stored() -> str:
    return hash_password(PASSWORD)


@pytest.fixture()
def limit() -> AttemptLimit:
    counter = redis.Redis.from_url(get_settings().redis_url)
    return AttemptLimit(counter, per_user=3, per_client=5, window_s=60, prefix=f"fastaudio-test:{uuid.uuid4().hex}:")


def test_a_hash_is_salted_and_verifies_only_its_password(stored: str) -> None:
    assert stored.startswith("scrypt$") and PASSWORD not in stored
    assert hash_password(PASSWORD) != stored  # a fresh salt each time
    assert verify_password(PASSWORD, stored)
    assert not verify_password(PASSWORD + " ", stored) and not verify_password("", stored)
    assert not verify_password(PASSWORD, "plain:" + PASSWORD) and not verify_password(PASSWORD, "scrypt$x")


def test_pbkdf2_hashes_are_accepted() -> None:
    import base64
    import hashlib

    salt = b"0123456789abcdef"
    digest = hashlib.pbkdf2_hmac("sha256", PASSWORD.encode(), salt, 200_000)
    line = f"pbkdf2_sha256$200000${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"
    assert parse_users(f"eve:{line}") == {"eve": line}
    assert verify_password(PASSWORD, line) and not verify_password("nope", line)


def test_users_entries_must_be_hashes(stored: str) -> None:
    assert parse_users(f"# team\ndiane:{stored}\n\nsheila:{stored}") == {"diane": stored, "sheila": stored}
    assert parse_users(f"diane:{stored},sheila:{stored}").keys() == {"diane", "sheila"}
    for bad in ("diane:hunter2", "diane", f":{stored}", "diane:pbkdf2_sha256$10$abc$def"):
        with pytest.raises(SignInError, match="hash-password"):
            parse_users(bad)


def test_failed_attempts_are_limited_per_user_and_per_client(stored: str, limit: AttemptLimit) -> None:
    users = {"diane": stored, "sheila": stored}
    for _ in range(3):
        assert sign_in("diane", "wrong", "10.0.0.1", users, limit).message == "Wrong name or password."
    blocked = sign_in("diane", PASSWORD, "10.0.0.2", users, limit)  # right password, but the name is locked
    assert blocked.user is None and "Too many failed sign-ins" in blocked.message
    assert sign_in("sheila", PASSWORD, "10.0.0.1", users, limit).user == "sheila"  # other names still work
    for name in ("x1", "x2"):  # one client guessing many names is stopped too
        sign_in(name, "wrong", "10.0.0.1", users, limit)
    assert "Too many" in sign_in("sheila", PASSWORD, "10.0.0.1", users, limit).message
    assert sign_in("sheila", PASSWORD, "10.0.0.3", users, limit).user == "sheila"
    assert sign_in("nobody", PASSWORD, "10.0.0.4", users, limit).message == "Wrong name or password."


def test_exposure_needs_a_sign_in_beyond_localhost() -> None:
    for local in ("localhost", "127.0.0.1", "::1"):
        assert exposure_problem(local, passwords=False, oidc=False, allow_open=False) is None
    for address in ("0.0.0.0", "", "192.168.1.5", "::"):
        problem = exposure_problem(address, passwords=False, oidc=False, allow_open=False)
        assert problem and "PAGES_USERS" in problem and "hash-password" in problem
    assert exposure_problem("0.0.0.0", passwords=True, oidc=False, allow_open=False) is None
    assert exposure_problem("0.0.0.0", passwords=False, oidc=True, allow_open=False) is None
    assert exposure_problem("0.0.0.0", passwords=False, oidc=False, allow_open=True) is None
    # in a container: a port published on loopback keeps the pages local; published further, it does not
    assert exposure_problem("0.0.0.0", passwords=False, oidc=False, allow_open=False, published="127.0.0.1") is None
    for published in ("0.0.0.0", "192.168.1.20", ""):
        assert exposure_problem("0.0.0.0", passwords=False, oidc=False, allow_open=False, published=published)


def _serve(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """``python -m ui.serve`` as the Dockerfile and compose start it; a refusal exits at once."""
    environment = child_env(**env)
    for key in ("PAGES_USERS", "PAGES_USERS_FILE", "ALLOW_OPEN_PAGES", "PUBLISHED_ADDRESS", "STREAMLIT_SERVER_ADDRESS"):
        if key not in env:
            environment.pop(key, None)
    command = [sys.executable, "-m", "ui.serve", *args, "--server.port", "1", "--server.headless", "true"]
    try:
        return subprocess.run(
            command, cwd=ROOT, env=environment, capture_output=True, text=True, timeout=20, check=False
        )
    except subprocess.TimeoutExpired as exc:  # it started serving (port 1 fails later): no refusal
        return subprocess.CompletedProcess(command, 0, str(exc.stdout or ""), str(exc.stderr or ""))


def test_the_pages_refuse_a_public_address_without_sign_in() -> None:
    for args in (("--server.address", "0.0.0.0"), ("--server.address=0.0.0.0",)):
        refused = _serve(*args)
        assert refused.returncode == 2 and "PAGES_USERS" in refused.stderr and "ALLOW_OPEN_PAGES" in refused.stderr
    assert _serve(STREAMLIT_SERVER_ADDRESS="0.0.0.0").returncode == 2
    assert _serve("--server.address", "0.0.0.0", PUBLISHED_ADDRESS="0.0.0.0").returncode == 2  # compose, published
    check = [sys.executable, "-c", "from ui.serve import exposure_check; print(exposure_check('0.0.0.0'))"]
    local = subprocess.run(
        check, cwd=ROOT, env={**_serve_env(), "PUBLISHED_ADDRESS": "127.0.0.1"}, capture_output=True, text=True,
        timeout=60, check=True,
    )  # fmt: skip
    assert local.stdout.strip() == "None"  # the compose default: published on loopback only
    cli = subprocess.run(
        [sys.executable, "-m", "cli", "run", "--address", "0.0.0.0"], cwd=ROOT, env=_serve_env(), capture_output=True,
        text=True, timeout=60, check=False,
    )  # fmt: skip
    assert cli.returncode == 2 and "hash-password" in cli.stderr  # refused before Redis or a worker start


def _serve_env() -> dict[str, str]:
    env = child_env()
    for key in ("PAGES_USERS", "PAGES_USERS_FILE", "ALLOW_OPEN_PAGES", "PUBLISHED_ADDRESS"):
        env.pop(key, None)
    return env


def test_listen_address_defaults_to_localhost() -> None:
    from ui.serve import listen_address

    assert listen_address(["--server.port", "8501"]) == (
        "localhost",
        ["--server.port", "8501", "--server.address", "localhost"],
    )
    assert listen_address(["--server.address", "0.0.0.0"])[0] == "0.0.0.0"


def test_hash_password_command_prints_a_usable_line() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "cli", "hash-password", "diane"], cwd=ROOT, input=PASSWORD + "\n", capture_output=True,
        text=True, timeout=60, check=False,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert verify_password(PASSWORD, parse_users(out.stdout)["diane"])


@pytest.fixture()
def password_pages(monkeypatch: pytest.MonkeyPatch, stored: str):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("PAGES_USERS", f"diane:{stored}")
    monkeypatch.setenv("SIGN_IN_MAX_FAILURES_PER_USER", "2")
    get_settings.cache_clear()
    redis.Redis.from_url(get_settings().redis_url).delete(
        "fastaudio:signin:user:diane", "fastaudio:signin:client:local"
    )
    yield
    redis.Redis.from_url(get_settings().redis_url).delete(
        "fastaudio:signin:user:diane", "fastaudio:signin:client:local"
    )
    monkeypatch.delenv("PAGES_USERS")
    monkeypatch.delenv("SIGN_IN_MAX_FAILURES_PER_USER")
    get_settings.cache_clear()


def _attempt(at, name: str, password: str):  # type: ignore[no-untyped-def]
    at.text_input(key="sign_in_name").input(name)
    at.text_input(key="sign_in_password").input(password)
    return at.button(key="FormSubmitter:sign_in-Sign in").click().run()


def test_pages_show_nothing_before_a_password_sign_in(ctx: AppContext, password_pages: None) -> None:
    task = ctx.repo.list_tasks(limit=1)
    at = app_test("app_pages/history.py")
    at.run()
    assert not at.exception
    assert [t.value for t in at.title] == ["Sign in to FastAudio"]
    assert not at.dataframe and not [c for c in at.caption if "Queue" in c.value]  # no task, no counts
    if task:
        assert task[0].recording.filename not in " ".join(shown(m.value) for m in at.markdown)
    _attempt(at, "diane", "wrong")
    assert [e.value for e in at.error] == ["Wrong name or password\\."]
    _attempt(at, "diane", "wrong again")
    _attempt(at, "diane", PASSWORD)  # the right password after the limit: still refused
    assert "Too many failed sign\\-ins" in at.error[0].value and at.title[0].value == "Sign in to FastAudio"
    redis.Redis.from_url(get_settings().redis_url).delete("fastaudio:signin:user:diane")
    _attempt(at, "diane", PASSWORD)
    assert not at.exception and at.title[0].value == "History"
