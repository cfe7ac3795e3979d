"""Offline draft speech for notices that only have text (espeak-ng).

Debian's espeak-ng `cmn` voice reads pinyin tone digits as English numbers; the
`cmn-latn-pinyin` voice reads pinyin with tone numbers properly. So Chinese text
is first normalised (numbers spelled out the way an announcer reads them), then
turned into tone-numbered pinyin with pypinyin, then spoken. The result is
labelled synthetic; the UI asks for a human recording instead.
"""
import functools
import os
import re
import shutil
import subprocess
import wave
from dataclasses import dataclass

from .errors import TTSFailed, TTSUnavailable

DEFAULT_VOICE = "cmn-latn-pinyin"
PINYIN_VOICES = {"cmn-latn-pinyin"}
WORDS_PER_MINUTE = 150
TIMEOUT_S = 60

DIGITS = "零一二三四五六七八九"
_SECTION_UNITS = ("", "万", "亿", "万亿")

# Chinese punctuation -> what espeak treats as a pause.
_PAUSES = str.maketrans({
    "，": ", ", "、": ", ", "；": "; ", "：": ": ", "。": ". ", "！": "! ", "？": "? ",
    "（": ", ", "）": ", ", "“": " ", "”": " ", "《": " ", "》": " ", "—": ", ", "…": ". ",
    "\n": ". ",
})


def _spell_digits(digits, yao=True):
    """Digit by digit, as phone numbers are read; 1 is 幺 so it is not heard as 7."""
    return "".join("幺" if d == "1" and yao else DIGITS[int(d)] for d in digits if d.isdigit())


def _section(n):
    """0 < n < 10000 in Chinese, with 零 for inner gaps (1005 -> 一千零五)."""
    out, gap = "", False
    for value, unit in ((1000, "千"), (100, "百"), (10, "十"), (1, "")):
        d = n // value % 10
        if d == 0:
            gap = gap or bool(out)
        else:
            out += ("零" if gap else "") + DIGITS[d] + unit
            gap = False
    return out


def int_to_chinese(n):
    """Read an integer the way a person does: 27 -> 二十七, 10005 -> 一万零五."""
    if n < 0:
        return "负" + int_to_chinese(-n)
    if n == 0:
        return "零"
    groups = []
    while n:
        groups.append(n % 10000)
        n //= 10000
    if len(groups) > len(_SECTION_UNITS):
        return _spell_digits(str(n), yao=False)
    out, gap = "", False
    for i in range(len(groups) - 1, -1, -1):
        g = groups[i]
        if g == 0:
            gap = bool(out)
            continue
        if out and (gap or g < 1000):
            out += "零"
        out += _section(g) + _SECTION_UNITS[i]
        gap = False
    return out[1:] if out.startswith("一十") else out  # 十五, not 一十五


def number_to_chinese(text):
    """'1,200.5' -> 一千二百点五."""
    whole, _, frac = text.replace(",", "").partition(".")
    out = int_to_chinese(int(whole or "0"))
    if frac:
        out += "点" + _spell_digits(frac, yao=False)
    return out


def _phone(m):
    digits = re.sub(r"\D", "", m.group(0))
    if digits.startswith("86") and len(digits) == 13:
        digits = digits[2:]
    if len(digits) == 11 and digits.startswith("1"):  # mobile: heard as 3-4-4
        groups = (digits[:3], digits[3:7], digits[7:])
    else:
        groups = tuple(g for g in re.split(r"[-\s]+", m.group(0).lstrip("+")) if g)
    return "，".join(_spell_digits(g) for g in groups)


def _date(m):
    year, month, day = m.group("y"), m.group("m"), m.group("d")
    if not 1 <= int(month) <= 12 or (day and not 1 <= int(day) <= 31):
        return m.group(0)
    out = _spell_digits(year, yao=False) + "年" if year else ""
    out += int_to_chinese(int(month)) + "月"
    return out + (int_to_chinese(int(day)) + "日" if day else "")


def _time(m):
    hour, minute = int(m.group(1)), int(m.group(2))
    if hour > 24 or minute > 59:
        return m.group(0)
    spoken = int_to_chinese(hour) + "点"
    if minute == 0:
        return spoken + "整"
    return spoken + ("零" if minute < 10 else "") + int_to_chinese(minute) + "分"


_RULES = (
    # Phone numbers: mobiles (optionally +86), landlines with area code, or numbers after a cue.
    (re.compile(r"(?<![\d.])(?:\+?86[-\s]?)?1[3-9]\d[-\s]?\d{4}[-\s]?\d{4}(?![\d.])"), _phone),
    (re.compile(r"(?<![\d.])0\d{2,3}[-\s]\d{7,8}(?![\d.])"), _phone),
    (re.compile(r"(?<=电话|热线|拨打|致电)[:：]?\s*(\d[\d-]{1,14}\d)"),
     lambda m: _spell_digits(m.group(1))),
    # Dates: 2026年11月27日, 2026-11-27, 2026/11/27, 11月27日 / 11月27号, 11月.
    (re.compile(r"(?<!\d)(?:(?P<y>\d{4})\s*年\s*)?(?P<m>\d{1,2})\s*月\s*(?:(?P<d>\d{1,2})\s*[日号])?"), _date),
    (re.compile(r"(?<!\d)(?P<y>\d{4})[-/.](?P<m>\d{1,2})[-/.](?P<d>\d{1,2})(?!\d)"), _date),
    (re.compile(r"(\d{4})\s*年"), lambda m: _spell_digits(m.group(1), yao=False) + "年"),
    # Clock times: 18:30, 8：05.
    (re.compile(r"(?<!\d)(\d{1,2})[:：](\d{2})(?!\d)"), _time),
    # Money and percentages.
    (re.compile(r"[¥￥]\s*(\d[\d,]*(?:\.\d+)?)"), lambda m: number_to_chinese(m.group(1)) + "元"),
    (re.compile(r"(\d+(?:\.\d+)?)\s*[%％]"), lambda m: "百分之" + number_to_chinese(m.group(1))),
    # Long digit strings (ID or account numbers) are spelled; other numbers read as amounts.
    (re.compile(r"\d{7,}"), lambda m: _spell_digits(m.group(0))),
    (re.compile(r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?"), lambda m: number_to_chinese(m.group(0))),
)


def normalise_text(text):
    """Spell out numbers in Chinese text the way an announcer would read them."""
    for pattern, spoken in _RULES:
        text = pattern.sub(spoken, text)
    return text


def to_pinyin(text):
    """Normalised text as tone-numbered pinyin (TONE3, neutral tone 5) for espeak-ng."""
    from pypinyin import Style, lazy_pinyin

    text = normalise_text(text).translate(_PAUSES)
    words = lazy_pinyin(text, style=Style.TONE3, neutral_tone_with_five=True)
    return re.sub(r"\s+", " ", " ".join(words)).strip()


@functools.lru_cache(maxsize=8)
def espeak_path(voice=DEFAULT_VOICE):
    """Path of espeak-ng, after checking it has `voice`; raises TTSUnavailable otherwise."""
    exe = shutil.which("espeak-ng")
    if not exe:
        raise TTSUnavailable(
            "Offline speech needs espeak-ng, which is not installed: install the Debian "
            "package `espeak-ng` (apt-get install espeak-ng)."
        )
    listing = subprocess.run([exe, "--voices"], capture_output=True, text=True, timeout=10).stdout
    if not re.search(rf"\s{re.escape(voice)}\s", listing, re.I):
        raise TTSUnavailable(f"espeak-ng has no voice {voice!r}; install the Debian package `espeak-ng`.")
    return exe


@dataclass
class Speech:
    path: str
    duration_s: float
    spoken: str  # what espeak-ng was given (pinyin for the pinyin voice)


def synthesize(text, out_wav, voice=DEFAULT_VOICE, *, words_per_minute=WORDS_PER_MINUTE):
    """Speak `text` into the WAV file `out_wav` with espeak-ng; return a Speech.

    Raises ValueError for empty text, TTSUnavailable if espeak-ng (or the voice) is
    missing, TTSFailed if what comes out is not plausible speech.
    """
    if not text or not text.strip():
        raise ValueError("there is no text to speak")
    exe = espeak_path(voice)
    spoken = to_pinyin(text) if voice in PINYIN_VOICES else normalise_text(text)
    if not spoken:
        raise ValueError("there is nothing speakable in the text")
    try:
        subprocess.run([exe, "-v", voice, "-s", str(words_per_minute), "-b", "1", "-w",
                        os.fspath(out_wav)], input=spoken.encode("utf-8"),
                       capture_output=True, timeout=TIMEOUT_S, check=True)
    except subprocess.TimeoutExpired as exc:
        raise TTSFailed(f"espeak-ng took longer than {TIMEOUT_S} s") from exc
    except subprocess.CalledProcessError as exc:
        raise TTSFailed(f"espeak-ng failed: {exc.stderr.decode('utf-8', 'replace')[:300]}") from exc
    duration, peak = _wav_facts(out_wav)
    # Pinyin syllables or words: each takes at least ~80 ms to say.
    units = max(1, len(re.findall(r"[A-Za-z]+\d?", spoken)))
    if peak < 500 or duration < 0.08 * units:
        raise TTSFailed(f"espeak-ng produced {duration:.2f} s of audio for {units} syllables")
    return Speech(path=os.fspath(out_wav), duration_s=duration, spoken=spoken)


def _wav_facts(path):
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import audioop
    try:
        with wave.open(os.fspath(path), "rb") as w:
            frames = w.readframes(w.getnframes())
            return w.getnframes() / w.getframerate(), audioop.max(frames, w.getsampwidth())
    except (FileNotFoundError, wave.Error, EOFError) as exc:
        raise TTSFailed("espeak-ng wrote no usable WAV file") from exc


def synthesize_notice(text, out_dir, voice=DEFAULT_VOICE, **process_options):
    """Text -> processed notice audio (ProcessedAudio) carrying the `synthetic` warning."""
    import uuid

    from .process import process_upload

    os.makedirs(out_dir, exist_ok=True)
    draft = os.path.join(out_dir, f"{uuid.uuid4().hex}-tts.tmp.wav")
    try:
        synthesize(text, draft, voice)
        return process_upload(draft, out_dir, synthetic=True, **process_options)
    finally:
        if os.path.exists(draft):
            os.remove(draft)
