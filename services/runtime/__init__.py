"""Running FastAudio's processes: the application context the edges share (``context``), the job
queue they send through (``queue``: the Celery configuration, built on first use) and its health
(``monitor``), the Redis broker, embedded when none is configured (``broker``), and the supervisor
behind ``make run`` that starts the worker and the web app (``supervisor``)."""
