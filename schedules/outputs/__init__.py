"""Loudspeaker outputs (issue 5): each kind plays one audio file behind the same small interface.

    from schedules.outputs import make_output, PlayResult
    out = make_output(row["kind"], json.loads(row["config"]), place_call=gateway.place_call)
    result = out.play(path, expected_s=audio_len, timeout_s=audio_len + 30, on_started=mark_started)

Kinds (:data:`KINDS`):

- ``alsa`` — :mod:`~schedules.outputs.alsa`: the station PC's sound card → amplifier (aplay).
- ``icecast`` — :mod:`~schedules.outputs.icecast`: a live MP3 stream that IP speakers listen to.
- ``phone_terminal`` — :mod:`~schedules.outputs.phone`: a terminal that broadcasts a call from a
  whitelisted number (电话广播), dialled through an injected gateway callable.
- ``portable`` — :mod:`~schedules.outputs.portable`: a propaganda vehicle without network; a
  downloadable bundle, plays confirmed later by SMS ("PLAYED 17").

Also :mod:`~schedules.outputs.led` (text push to an LED sign) and
:mod:`~schedules.outputs.mp3frames` (frame timing for real-time streaming and durations).
Free of Flask and of the database: the worker records what a :class:`PlayResult` says.
"""
from .base import Output, PlayResult
from .factory import KINDS, make_output, validate_config

__all__ = ["KINDS", "Output", "PlayResult", "make_output", "validate_config"]
