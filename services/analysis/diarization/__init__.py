"""Who spoke when: speaker embeddings (``embeddings``), clustering with a speaker-count estimate
(``clustering``), re-segmentation (``resegment``, ``refine``), the built-in diarizer that runs them
in order (``diarize``), and the optional pyannote.audio backend (``pyannote``)."""
