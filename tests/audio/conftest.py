"""Shared helpers for the audio tests: the corpus builder's signal generator and a prober."""
import importlib.util
import os
import re
import subprocess

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))


def _load_make_corpus():
    spec = importlib.util.spec_from_file_location("audio_make_corpus", os.path.join(HERE, "make_corpus.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


make_corpus = _load_make_corpus()


def _probe(path):
    """(codec, sample_rate, channel_layout, duration_s) as ffmpeg reads the file."""
    from audio.ffmpeg import ffmpeg_exe

    text = subprocess.run([ffmpeg_exe(), "-hide_banner", "-i", os.fspath(path), "-f", "null", "-"],
                          capture_output=True, text=True, timeout=60).stderr
    stream = re.search(r"Stream #0:\d+.*?: Audio: (\w+).*?, (\d+) Hz, (\w+)", text)
    times = re.findall(r"time=(\d+):(\d+):(\d+\.\d+)", text)
    h, m, s = times[-1]
    return stream.group(1), int(stream.group(2)), stream.group(3), int(h) * 3600 + int(m) * 60 + float(s)


@pytest.fixture
def probe():
    """probe(path) -> (codec, sample_rate, channel_layout, duration_s) as ffmpeg decodes it."""
    return _probe


@pytest.fixture
def corpus():
    return make_corpus


@pytest.fixture
def speech_wav(tmp_path):
    """Factory: write a speech-like WAV (see make_corpus.speechlike) and return its path."""
    def make(plan="ssss_sss|ssss_sss", rate=22050, lead_s=0.0, tail_s=0.0, level_db=-18.0, name="speech.wav"):
        pcm = (make_corpus.silence_pcm(lead_s, rate) + make_corpus.speechlike(rate, plan, level_db)
               + make_corpus.silence_pcm(tail_s, rate))
        path = tmp_path / name
        make_corpus.write_wav(str(path), pcm, rate)
        return path
    return make
