"""What a recording holds: decoding, speech detection, transcription, speakers.

The analysis stages, each a module over numpy arrays and the dataclasses of ``services.schema``:
``options`` (what a user may choose, validated without loading any model), ``audio`` (decode and
resample), ``vad`` (where the speech is), ``asr/`` (Whisper engines),
``diarization/`` (who spoke when), ``assign`` and ``turns`` (words to speakers, speaker turns),
``channels`` (one microphone per speaker), ``trim`` (cutting long silences), ``pipeline`` (the
stages in order, with a progress callback), ``engines`` (which ASR and diarizer the settings ask
for) and ``artifacts`` (what an analysis keeps for re-runs). Knows nothing of the database, the
queue or the pages.
"""
