"""The task table and everything kept beside it, through SQLAlchemy: engine and migrations
(``db``, ``migrations/``), ORM models (``models``), the task state machine's writes (``task_lifecycle``), the
queries over tasks (``task_queries``, with History's filters in ``task_query``) and the snapshots
both hand out (``task_views``), ``TaskRepo`` (``tasks_repo``) for callers that need both, edits
and artifacts repositories, and transcript search
(``transcript_index``, with ``search_query`` turning user input into safe terms)."""
