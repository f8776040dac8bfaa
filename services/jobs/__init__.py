"""The life of a task around the analysis: submission (``submissions``), the job runner with its
retry policy (``runner``), progress, heartbeats, cancellation, the reaper of lost jobs, re-runs
(``reruns``, ``rediarize``), deletion, housekeeping, and queue waiting times (``eta``,
``waiting``). Plain functions over the store and storage; the Celery tasks in ``worker/`` call them."""
