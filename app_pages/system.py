"""System: workers online, queue depth, tasks by status, storage, broker and database health."""

import shutil

import streamlit as st
from sqlalchemy import text

from services.runtime.context import get_context
from services.runtime.monitor import queue_health
from services.storage.files import LocalStorage
from services.store.models import STATUSES
from ui.format import ago, plain, size_label, status_label
from ui.sign_in import gate

gate()
ctx = get_context()
st.title("System")

health = queue_health(ctx.settings, ctx.queue.app)
db_ok = True
try:
    with ctx.repo.engine.connect() as conn:
        conn.execute(text("SELECT 1"))
except Exception as exc:  # shown, not raised: this page exists to report trouble
    db_ok = False
    st.error(plain(f"Database unreachable: {exc}"))

cols = st.columns(4)
cols[0].metric("Broker", "up" if health.broker_ok else "down")
cols[1].metric("Database", "up" if db_ok else "down")
cols[2].metric("Workers online", len(health.workers))
cols[3].metric("Messages waiting", "—" if health.depth is None else health.depth)
if not health.broker_ok:
    st.warning(plain(f"The queue (Redis) is unreachable: {health.error}. Uploads are kept and start when it is back."))
elif not health.workers:
    st.warning("No worker answers. Start one with `make run` or `celery -A worker.celery_app worker`.")
else:
    st.caption(plain("Workers: " + ", ".join(health.workers)))

st.subheader("Tasks")
status_cols = st.columns(len(STATUSES))
for col, status in zip(status_cols, STATUSES, strict=False):
    col.metric(status_label(status), ctx.repo.count(status))
oldest = ctx.repo.list_tasks(limit=1, status="queued", oldest_first=True)
if oldest:
    st.caption(f"Oldest queued task: `{oldest[0].id}`, uploaded {ago(oldest[0].created_at)}.")

st.subheader("Storage")
if isinstance(ctx.storage, LocalStorage):
    uploads = ctx.storage.root
    used = sum(p.stat().st_size for p in uploads.rglob("*") if p.is_file()) if uploads.exists() else 0
    free = shutil.disk_usage(uploads if uploads.exists() else ctx.settings.data_dir).free
    st.caption(f"Uploads use {size_label(used)} in `{uploads}`; {size_label(free)} free on that disk.")
else:
    st.caption(f"Uploads are stored in `{ctx.storage.location}` (STORAGE_URL), where every worker reads them.")
