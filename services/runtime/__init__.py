"""Running FastAudio's processes: the application context the edges share (``context``), the
Redis broker, embedded when none is configured (``broker``), and the supervisor behind
``make run`` that starts the worker and the web app (``supervisor``)."""
