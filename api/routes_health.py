"""GET /health: the API is up and reaches its database (for load balancers and compose healthchecks)."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse
from sqlalchemy import text

from api.deps import app_context
from services.runtime.context import AppContext

router = APIRouter(tags=["health"])


@router.get("/health", responses={503: {"description": "The database is unreachable"}})
def health(ctx: AppContext = Depends(app_context)) -> JSONResponse:
    """``{"status": "ok"}``, or 503 with the reason. Needs no token."""
    try:
        with ctx.repo.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:  # reported, not raised: this endpoint exists to report trouble
        return JSONResponse({"status": "unavailable", "detail": f"database: {type(exc).__name__}"}, status_code=503)
    return JSONResponse({"status": "ok"})
