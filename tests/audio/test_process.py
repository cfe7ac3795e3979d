"""Good-path processing: what a secretary hears on the loudspeaker and on the phone."""
import os
import subprocess
import sys
import warnings
import wave

import pytest

from audio.ffmpeg import measure_loudness, wav_duration
from audio.process import process_upload

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    import audioop


def _silent_runs(wav_path, threshold_db=-50, window_ms=10):
    """Lengths in seconds of each run of silence in a 16-bit mono WAV, in order."""
    with wave.open(str(wav_path)) as w:
        rate, data = w.getframerate(), w.readframes(w.getnframes())
    step = rate * window_ms // 1000 * 2
    floor = 32768 * 10 ** (threshold_db / 20)
    runs, current = [], 0
    for i in range(0, len(data), step):
        if audioop.rms(data[i:i + step], 2) < floor:
            current += 1
        elif current:
            runs.append(current * window_ms / 1000)
            current = 0
    runs.append(current * window_ms / 1000)
    return runs


def test_renditions_have_the_promised_formats(speech_wav, tmp_path, probe):
    result = process_upload(speech_wav(), tmp_path / "out")
    ls, tel = result.renditions["loudspeaker"], result.renditions["telephone"]
    assert probe(ls.path)[:3] == ("mp3", 44100, "mono")
    assert probe(tel.path)[:3] == ("pcm_mulaw", 8000, "mono")
    with wave.open(result.master_path) as w:
        assert (w.getnchannels(), w.getsampwidth(), w.getframerate()) == (1, 2, 44100)
    assert probe(tel.path)[3] == pytest.approx(result.duration_s, abs=0.05)
    assert probe(ls.path)[3] == pytest.approx(result.duration_s, abs=0.1)
    assert result.sample_rate == 22050 and result.source_format == "wav"


@pytest.mark.parametrize("level_db", [-32.0, -18.0, -4.0])
def test_loudspeaker_lands_near_minus_16_lufs_without_peaks(speech_wav, tmp_path, level_db):
    result = process_upload(speech_wav(level_db=level_db), tmp_path / "out")
    for name in ("loudspeaker", "telephone"):
        lufs, true_peak = measure_loudness(result.renditions[name].path)
        assert -17.5 <= lufs <= -14.5, (name, lufs)
        assert true_peak <= -1.0, (name, true_peak)
    # The upload's own loudness is reported, and the gain follows from it.
    assert result.gain_db == pytest.approx(-16 - result.lufs, abs=3)


def test_silence_trimmed_at_ends_but_pause_inside_kept(speech_wav, tmp_path):
    src = speech_wav(plan="ssss_sss.ssss_sss", lead_s=1.5, tail_s=2.0)
    result = process_upload(src, tmp_path / "out")
    assert result.trimmed_start_s == pytest.approx(1.5 - 0.15, abs=0.05)
    assert result.trimmed_end_s == pytest.approx(2.0 - 0.15, abs=0.1)
    runs = _silent_runs(result.master_path)
    assert runs[0] <= 0.2 and runs[-1] <= 0.3  # only a breath of silence left at the ends
    assert max(runs[1:-1]) >= 0.95            # the 1 s pause between sentences survives
    assert result.duration_s == pytest.approx(wav_duration(src) - 3.5 + 0.3, abs=0.1)


def test_repeat_three_with_gap_and_chime(speech_wav, tmp_path, probe):
    once = process_upload(speech_wav(), tmp_path / "one")
    thrice = process_upload(speech_wav(), tmp_path / "three", repeat=3, gap_seconds=2.0)
    d1 = probe(once.renditions["loudspeaker"].path)[3]
    d3 = probe(thrice.renditions["loudspeaker"].path)[3]
    assert d3 == pytest.approx(3 * d1 + 2 * 2.0, abs=0.2)
    assert thrice.renditions["loudspeaker"].duration_s == pytest.approx(d3, abs=0.1)
    # The phone version is never looped: Gather/Redirect repeats it on the call.
    assert probe(thrice.renditions["telephone"].path)[3] == pytest.approx(once.duration_s, abs=0.05)
    chimed = process_upload(speech_wav(), tmp_path / "chime", chime=True)
    dc = probe(chimed.renditions["loudspeaker"].path)[3]
    assert 1.5 < dc - d1 < 3.5
    lufs, peak = measure_loudness(chimed.renditions["loudspeaker"].path)
    assert -17.5 <= lufs <= -14.5 and peak <= -1.0


def test_long_notice_warns_for_phone_calls(tmp_path, corpus):
    src = tmp_path / "long.mp3"
    corpus.run_ffmpeg("-f", "lavfi", "-i", "aevalsrc=0.3*sin(2*PI*220*t)*gt(sin(2*PI*1.3*t)\\,0):d=185:s=8000",
                      "-c:a", "libmp3lame", "-b:a", "16k", str(src))
    result = process_upload(src, tmp_path / "out")
    assert "too_long_for_call" in result.warnings
    assert "low_sample_rate" in result.warnings
    assert result.duration_s > 180


def test_bad_options_are_value_errors(speech_wav, tmp_path):
    with pytest.raises(ValueError):
        process_upload(speech_wav(), tmp_path / "out", repeat=0)
    with pytest.raises(ValueError):
        process_upload(speech_wav(), tmp_path / "out", gap_seconds=-1)


def test_audio_package_never_imports_flask():
    code = ("import sys, audio.process, audio.tts, audio.waveform, audio.sniff; "
            "sys.exit(1 if 'flask' in sys.modules else 0)")
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    assert subprocess.run([sys.executable, "-c", code], cwd=root, timeout=60).returncode == 0
