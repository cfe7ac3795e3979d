"""Synthetic drafts: a notice's text spoken by espeak-ng and stored as its (labelled) audio.

Used by the notice page and the demo seed. The asset folder is removed again if anything fails,
so a refused draft leaves nothing on disk. Commits with :func:`store.add_audio`.
"""
from __future__ import annotations

import os
import uuid

from audio.tts import synthesize_notice

from . import store


def synthesize_into(db, media_dir: str, notice_id: int, language: str, text: str, *, chime: bool = False,
                    repeat: int = 1, user_id: int | None = None) -> int:
    """Make and store a synthetic draft; returns the asset id. Raises TTSUnavailable, TTSFailed,
    AudioRejected or ValueError (empty text) with nothing left behind."""
    folder, absolute = store.new_asset_folder(media_dir)
    try:
        processed = synthesize_notice(text[:2000], absolute, chime=chime, repeat=repeat)
        original = os.path.join(absolute, f"{uuid.uuid4().hex}-tts.txt")
        with open(original, "w", encoding="utf-8") as fh:
            fh.write(text)  # the "original" of a draft is the text it was spoken from
        processed.source_format = "tts"
        return store.add_audio(db, media_dir, notice_id, language, "synthetic", folder, original, processed,
                               chime=chime, repeat=repeat, user_id=user_id)
    except BaseException:
        store.discard_folder(media_dir, folder)
        raise
