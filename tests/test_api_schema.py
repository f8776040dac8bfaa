"""Schemathesis against the API's own OpenAPI schema: generated (valid and invalid) requests to every
operation never get a 5xx, and every answer matches the documented statuses, content types and bodies.

Bounded (a few dozen examples per operation) so it runs in a couple of minutes, against the
session's real database and storage.
"""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import positive_data_acceptance

from api.main import create_app


# Built at import, after conftest's pytest_configure pointed the settings at the session's database;
# the app opens the session's context on its first request.
def _addressed_as_localhost(app):  # type: ignore[no-untyped-def]
    """The app as a local client reaches it: schemathesis's client says ``Host: testserver``, which
    the API refuses like any host name that is not its own (``api.origin``)."""

    async def asgi(scope, receive, send):  # type: ignore[no-untyped-def]
        if scope["type"] == "http":
            headers = [(k, v) for k, v in scope["headers"] if k != b"host"] + [(b"host", b"localhost")]
            scope = dict(scope, headers=headers)
        await app(scope, receive, send)

    return asgi


schema = schemathesis.openapi.from_asgi("/openapi.json", _addressed_as_localhost(create_app()))


@schema.parametrize()
@settings(max_examples=100, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_server_errors_and_answers_match_the_schema(case) -> None:  # type: ignore[no-untyped-def]
    if case.operation.method.upper() == "POST":
        # Any bytes are a schema-valid `file`; one that is not audio is a 415 (a failed task) by
        # design, so "valid data must be accepted" cannot hold for uploads; nor for a split, a voice merge or
        # an answer to a voice suggestion, whose valid request names a task, speaker or voice that must exist
        # (404, 409, 422 otherwise). Everything else is checked.
        response = case.call_and_validate(excluded_checks=[positive_data_acceptance])
        if case.operation.path.endswith(("/split", "/merge", "/voice/confirm", "/voice/reject")):
            assert response.status_code in (200, 400, 404, 405, 409, 422), response.text
        else:
            assert response.status_code in (202, 400, 405, 411, 413, 415, 422), response.text
    else:
        case.call_and_validate()
