"""Server-rendered waveform picture."""
import math
import struct
import xml.etree.ElementTree as ET

import pytest

from audio.waveform import column_extremes, waveform_svg


def _wav(path, samples, rate=8000):
    import wave

    with wave.open(str(path), "wb") as w:
        w.setparams((1, 2, rate, 0, "NONE", "not compressed"))
        w.writeframes(struct.pack(f"<{len(samples)}h", *samples))
    return path


def test_svg_is_valid_and_sized(tmp_path):
    tone = [int(16000 * math.sin(2 * math.pi * 440 * i / 8000)) for i in range(16000)]
    svg = waveform_svg(_wav(tmp_path / "t.wav", tone), width=300, height=60)
    root = ET.fromstring(svg)
    assert root.get("viewBox") == "0 0 300 60"
    assert "2.0 seconds" in root.get("aria-label")
    path = root.find("{http://www.w3.org/2000/svg}path").get("d")
    assert path.count("L") == 2 * 300 - 1


def test_extremes_follow_the_sound(tmp_path):
    # First half silent, second half a loud square wave.
    samples = [0] * 8000 + [30000 if (i // 20) % 2 else -30000 for i in range(8000)]
    cols = column_extremes(_wav(tmp_path / "s.wav", samples), 10)
    assert cols[:5] == [(0.0, 0.0)] * 5
    for lo, hi in cols[5:]:
        assert lo == pytest.approx(-30000 / 32768) and hi == pytest.approx(30000 / 32768)


def test_short_file_and_bad_sizes(tmp_path):
    assert len(column_extremes(_wav(tmp_path / "x.wav", [100, -100, 5]), 600)) == 3
    with pytest.raises(ValueError):
        waveform_svg(tmp_path / "x.wav", width=0)
