"""Audio length as the simulator measures it for <Play> — real files made by a real ffmpeg."""
import subprocess

import imageio_ffmpeg
import pytest

from phonesim.audio import probe


def encode(tmp_path, name, *args, seconds=3.0):
    out = tmp_path / name
    subprocess.run(
        [imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-f", "lavfi", "-i",
         f"sine=frequency=440:duration={seconds}", *args, str(out)],
        check=True, timeout=30,
    )
    return out.read_bytes()


@pytest.mark.parametrize("name,args", [
    ("ulaw.wav", ["-ar", "8000", "-ac", "1", "-c:a", "pcm_mulaw"]),  # the telephone rendition
    ("pcm.wav", ["-ar", "44100", "-ac", "2"]),
    ("cbr.mp3", ["-ar", "44100", "-b:a", "128k"]),
    ("vbr.mp3", ["-ar", "22050", "-q:a", "5"]),
])
def test_duration_of_real_files(tmp_path, name, args):
    fmt, seconds = probe(encode(tmp_path, name, *args))
    assert fmt == name.rsplit(".", 1)[1]
    assert seconds == pytest.approx(3.0, abs=0.1)


@pytest.mark.parametrize("data", [b"", b"<html><body>not found</body></html>", b"RIFF\x00\x00\x00\x00WAVE",
                                  b"PK\x03\x04" + b"\x00" * 100])
def test_not_audio_has_no_duration(data):
    assert probe(data) == (None, None)
