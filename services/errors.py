"""FastAudio's own exceptions. Each message is written for the person who caused it.

They are raised deep inside services and caught at the edges (task, page, CLI), where the message
becomes a failed task's error or a line on the screen. ``retryable`` tells the worker whether
trying again could help; bad input never helps.
"""

from __future__ import annotations


class FastAudioError(Exception):
    """Base class: something went wrong that we can explain to a person."""

    retryable = False

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class UnsupportedAudio(FastAudioError):
    """The file cannot be read as audio (not audio, corrupt, no audio stream)."""


class EmptyAudio(UnsupportedAudio):
    """The file is empty or holds no samples."""


class UploadTooLarge(FastAudioError):
    """The upload is bigger than MAX_UPLOAD_MB."""


class RecordingTooLong(FastAudioError):
    """The recording is longer than MAX_DURATION_MINUTES."""


class OutOfMemory(FastAudioError):
    """The analysis ran out of memory; the same recording would again (so never retried)."""


class InvalidOptions(FastAudioError):
    """Analysis options that contradict each other (e.g. min speakers above max)."""


class ModelNotAvailable(FastAudioError):
    """A configured model is not on this machine (we never download at run time)."""


class SpeakerModelError(ModelNotAvailable):
    """The speaker-embedding model at SPEAKER_EMBEDDING_MODEL is missing, cannot be loaded, or does not
    take filterbank frames and give one vector per item. The message names the path."""


class EngineNotInstalled(ModelNotAvailable):
    """A configured optional engine or backend (openai-whisper, pyannote.audio) is not installed."""


class TaskNotFound(FastAudioError):
    """No task with that id."""


class TaskNotFinished(FastAudioError):
    """The task has no result (yet): it is queued, processing, or failed."""


class StorageError(FastAudioError):
    """The upload storage (a folder or a bucket) could not be written or read."""

    retryable = True


class InvalidEdit(FastAudioError):
    """A correction that cannot be applied (an empty segment, a speaker merged into itself, ...)."""


class RerunNotPossible(FastAudioError):
    """A task cannot be re-run that way (not finished, or what the re-run needs was not saved)."""


class TaskCancelled(FastAudioError):
    """The task stopped being this worker's to run: cancelled by a person, deleted, or taken over.

    Raised from the progress callback, so a running analysis stops at its next progress report;
    ``services.jobs.runner.run_analysis`` catches it and leaves the row as it is.
    """


class TaskAlreadyFinished(FastAudioError):
    """A cancel came for a task that has already completed, failed or been cancelled."""


class InvalidCallbackUrl(InvalidOptions):
    """A ``callback_url`` FastAudio will not post to: not http(s), a host outside WEBHOOK_ALLOWED_HOSTS,
    or an address inside this network (loopback, private, link-local) that was not allowed explicitly."""


class VoiceNotFound(FastAudioError):
    """No voice with that id in the voice library (deleted, or merged into another)."""


class VoiceLibraryOff(FastAudioError):
    """The voice library is switched off (VOICE_LIBRARY=false): no voice is kept or suggested."""
