"""Speech recognition engines: faster-whisper (``transcribe``, the default), openai-whisper
(``transcribe_openai``), and the windowing both share (``chunks``)."""
