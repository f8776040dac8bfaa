"""FastAudio's core, with no knowledge of Streamlit, Celery or HTTP.

Packages, lowest first (each may import only those below it; ``make lint`` checks this):

- ``analysis``: what a recording holds (decode, speech, transcription, speakers).
- ``results``: what an analyst does with a result (edits, statistics, charts, exports).
- ``store`` and ``storage``: the task table in the database; the uploaded recordings.
- ``jobs``: the life of a task (submit, run, progress, retry, reap, re-run, delete).
- ``runtime``: the application context and the processes behind ``make run``.

Shared by all of them: ``config`` (the one ``Settings`` object), ``errors`` (exceptions with
messages for people) and ``schema`` (the result dataclasses).
"""
