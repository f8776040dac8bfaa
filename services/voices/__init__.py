"""The voice library: a person named once is recognised in later recordings.

Plain functions over numpy arrays and frozen dataclasses, no database:

- ``prints``: one vector per speaker of a result (the mean of the speaker's voice embeddings);
- ``summary``: the bounded set of vectors a voice keeps (``MAX_EXEMPLARS``);
- ``matching``: which voice, if any, to suggest for each speaker (calibrated thresholds, one voice per
  speaker and one speaker per voice in a recording).

The library lives in the database (``services.store.voices_repo``); the jobs match at the end of an
analysis, a re-run or a split (``services.jobs.voice_matching``).
"""
