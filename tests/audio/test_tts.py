"""Offline draft speech: number reading, pinyin for espeak-ng, and a clear error when it is missing."""
import shutil
import warnings
import wave

import pytest

from audio import tts
from audio.errors import TTSUnavailable

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    import audioop


@pytest.mark.parametrize("text, spoken", [
    ("联系电话13812345678", "联系电话幺三八，幺二三四，五六七八"),
    ("拨打+86 139-0000-1111", "拨打幺三九，零零零零，幺幺幺幺"),
    ("座机0851-86612345", "座机零八五幺，八六六幺二三四五"),
    ("热线12345", "热线幺二三四五"),
    ("2026年11月27日起", "二零二六年十一月二十七日起"),
    ("11月27日晚上", "十一月二十七日晚上"),
    ("2026-11-05", "二零二六年十一月五日"),
    ("18:30开会", "十八点三十分开会"),
    ("8:05集合，18:00结束", "八点零五分集合，十八点整结束"),
    ("罚款500元", "罚款五百元"),
    ("补贴1,200元", "补贴一千二百元"),
    ("¥35.5", "三十五点五元"),
    ("10005人", "一万零五人"),
    ("15户", "十五户"),
    ("覆盖率达到99%", "覆盖率达到百分之九十九"),
    ("13月45日", "十三月四十五日"),  # not a date: read as plain numbers
])
def test_normalise_text_reads_numbers_like_an_announcer(text, spoken):
    assert tts.normalise_text(text) == spoken


def test_pinyin_has_tone_numbers_and_pauses():
    spoken = tts.to_pinyin("注意：明天18:30开会，绿色通道。")
    assert spoken.startswith("zhu4 yi4 : ming2 tian1 shi2 ba1 dian3 san1 shi2 fen1 kai1 hui4 ,")
    assert "lv4" in spoken and spoken.endswith(".")
    assert not any("\u4e00" <= ch <= "\u9fff" for ch in spoken)


def test_missing_espeak_is_reported_by_package_name(monkeypatch, tmp_path):
    tts.espeak_path.cache_clear()
    monkeypatch.setattr(tts.shutil, "which", lambda name: None)
    try:
        with pytest.raises(TTSUnavailable, match="espeak-ng"):
            tts.synthesize("通知", tmp_path / "x.wav")
    finally:
        tts.espeak_path.cache_clear()
    assert not (tmp_path / "x.wav").exists()


def test_empty_text_is_a_value_error(tmp_path):
    with pytest.raises(ValueError):
        tts.synthesize("  ", tmp_path / "x.wav")


needs_espeak = pytest.mark.skipif(
    shutil.which("espeak-ng") is None,
    reason="espeak-ng is not installed (Debian package `espeak-ng`); TTS cannot be exercised",
)


@needs_espeak
def test_synthesize_makes_plausible_non_silent_speech(tmp_path):
    text = "各位村民请注意：11月27日起暂停一切宴席，联系电话13812345678。"
    speech = tts.synthesize(text, tmp_path / "draft.wav")
    syllables = len(speech.spoken.split()) - speech.spoken.count(",") - speech.spoken.count(".")
    assert syllables >= 35
    # Mandarin runs at roughly 3-6 syllables a second; espeak at 150 wpm sits inside that.
    assert syllables / 7 < speech.duration_s < syllables / 1.5
    with wave.open(str(tmp_path / "draft.wav")) as w:
        data = w.readframes(w.getnframes())
        assert audioop.rms(data, w.getsampwidth()) > 500


@needs_espeak
def test_synthetic_notice_is_labelled(tmp_path):
    result = tts.synthesize_notice("今晚七点在村委会开会，请准时参加。", tmp_path / "out")
    assert "synthetic" in result.warnings
    assert set(result.renditions) == {"loudspeaker", "telephone"}
    assert len(list((tmp_path / "out").iterdir())) == 3  # the draft WAV was cleaned up
