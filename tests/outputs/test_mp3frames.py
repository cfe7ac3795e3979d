"""MP3 frame timing: exact durations, tags and junk skipped, no false frames."""
from __future__ import annotations

import pytest

from schedules.outputs.mp3frames import duration_s, iter_frames


def test_tags_and_junk_around_the_audio_are_not_frames(mp3_2s):
    audio = open(mp3_2s, "rb").read()
    frames = list(iter_frames(audio))
    # A fake sync word in leading junk, an ID3v1 trailer, and a truncated last frame.
    junk = b"\xff\xfb\x90\x00 not a frame " * 3
    tag = b"TAG" + "春耕".encode("utf-8").ljust(125, b"\0")
    wrapped = junk + audio + b"\xff\xfb\x90\x64" + b"\0" * 20 + tag

    again = list(iter_frames(wrapped))
    assert [f.length for f in again] == [f.length for f in frames]
    assert again[0].offset == frames[0].offset + len(junk)
    assert duration_s(wrapped) == pytest.approx(duration_s(audio))


def test_frame_times_add_up_to_the_audio_length(mp3_3s):
    frames = list(iter_frames(open(mp3_3s, "rb").read()))
    assert {f.sample_rate for f in frames} == {44100}
    assert {f.bitrate_kbps for f in frames} == {128}
    # LAME adds under 50 ms of padding and an Info frame; the tone itself is 3.0 s.
    assert 3.0 <= sum(f.duration_s for f in frames) <= 3.1


def test_no_audio_means_no_frames():
    assert list(iter_frames(b"RIFF" + bytes(4000))) == []
    assert duration_s(b"") == 0
