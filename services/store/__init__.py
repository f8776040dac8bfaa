"""The task table and everything kept beside it, through SQLAlchemy: engine and migrations
(``db``, ``migrations/``), ORM models (``models``), the task repository (``tasks_repo``) and its
filters (``task_query``), edits and artifacts repositories, and transcript search
(``transcript_index``, with ``search_query`` turning user input into safe terms)."""
