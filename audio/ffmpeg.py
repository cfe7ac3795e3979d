"""Every ffmpeg invocation of the pipeline, plus the SILK decoder ffmpeg lacks.

ffmpeg comes from the `imageio-ffmpeg` wheel (a static build, no ffprobe), so we
never ask pydub to decode: `decode_to_wav` makes one explicit ffmpeg call that
turns any accepted upload into 16-bit mono PCM WAV at a fixed 44.1 kHz and, in
the same pass, meters its loudness (ebur128, true peak).

Why a fixed 44.1 kHz master rather than the source rate: the loudspeaker
rendition is 44.1 kHz, so the main path never resamples twice; 96/192 kHz
uploads cannot inflate memory or disk (88 KB per second of master, always);
trimming, chime and waveform code deal with one rate. The source rate is still
read from ffmpeg's stream line and reported, so `low_sample_rate` is honest.
"""
import collections
import functools
import os
import re
import subprocess
import threading
import wave
from dataclasses import dataclass

from .errors import TIMEOUT, TOO_LONG, UNDECODABLE, AudioRejected, FFmpegError
from .sniff import sniff_format

MASTER_RATE = 44100
# A file may run this much past the cap (decoder padding) before we call it too long.
_CAP_SLACK_S = 0.5

# ffmpeg demuxer per sniffed format: forcing it stops ffmpeg probing hostile files
# as playlists (HLS, concat) that could make it read other files.
_DEMUXER = {
    "mp3": "mp3", "aac": "aac", "wav": "wav", "aiff": "aiff", "m4a": "mov", "mp4": "mov",
    "3gp": "mov", "amr": "amr", "opus": "ogg", "vorbis": "ogg", "ogg": "ogg", "flac": "flac",
    "webm": "matroska", "matroska": "matroska",
}

_DURATION = re.compile(r"Duration: (\d+):(\d\d):(\d\d(?:\.\d+)?)")
_AUDIO_STREAM = re.compile(r"Stream #0:\d+.*?: Audio: (\w+)[^,]*, (\d+) Hz, ([^,]+)")
_INTEGRATED = re.compile(r"^\s*I:\s+(-?[\d.]+|-?inf) LUFS", re.M)
_TRUE_PEAK = re.compile(r"^\s*Peak:\s+(-?[\d.]+|-?inf) dBFS", re.M)


@functools.lru_cache(maxsize=1)
def ffmpeg_exe():
    """Path of the ffmpeg binary shipped by the imageio-ffmpeg wheel (or IMAGEIO_FFMPEG_EXE)."""
    import imageio_ffmpeg  # imported late so `import audio` works even before pip install

    return imageio_ffmpeg.get_ffmpeg_exe()


@dataclass
class DecodeResult:
    """What one decode pass learned about an upload."""

    source_format: str
    source_codec: str
    source_rate: int        # Hz of the upload's audio stream (0 if ffmpeg did not say)
    source_channels: str    # ffmpeg's layout name, e.g. "mono", "stereo"
    duration_s: float       # of the decoded master WAV
    lufs: float             # integrated loudness of the mono master, -70.0 for silence
    true_peak_db: float     # dBTP of the mono master, -inf for digital silence
    damaged: bool           # the decoder reported errors but still produced sound


class _Run:
    """ffmpeg as a child process with a hard timeout, its log read line by line."""

    def __init__(self, args, timeout, on_line=None):
        self.args = [ffmpeg_exe(), "-hide_banner", "-nostdin", "-nostats", *args]
        self.timeout = timeout
        self.on_line = on_line  # may return True to stop ffmpeg early
        self.timed_out = False
        self.stopped = False
        self.log = collections.deque(maxlen=400)  # bounded: garbage input can log endlessly

    def run(self):
        proc = subprocess.Popen(
            self.args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )

        def expire():
            self.timed_out = True
            proc.kill()

        timer = threading.Timer(self.timeout, expire)
        timer.start()
        try:
            for raw in proc.stderr:
                line = raw.decode("utf-8", "replace").rstrip()
                self.log.append(line)
                if self.on_line and not self.stopped and self.on_line(line):
                    self.stopped = True
                    proc.kill()
            self.returncode = proc.wait()
        finally:
            timer.cancel()
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            proc.stderr.close()
        return self

    @property
    def text(self):
        return "\n".join(self.log)


def run_ffmpeg(args, *, timeout):
    """Run ffmpeg on files we made ourselves; raise FFmpegError on failure or timeout."""
    run = _Run(args, timeout).run()
    if run.timed_out:
        raise FFmpegError(f"ffmpeg took longer than {timeout:.0f} s: {' '.join(args)}")
    if run.returncode != 0:
        raise FFmpegError(f"ffmpeg failed ({run.returncode}): {run.text[-2000:]}")
    return run.text


def _parse_loudness(text):
    found_i = _INTEGRATED.findall(text)
    found_p = _TRUE_PEAK.findall(text)
    if not found_i:
        raise FFmpegError("ebur128 printed no summary")
    lufs = float(found_i[-1])
    peak = float(found_p[-1]) if found_p else float("-inf")
    return lufs, peak


def measure_loudness(wav, *, timeout=120):
    """(integrated LUFS, true peak dBTP) of an audio file, metered by ffmpeg ebur128.

    Streaming and low-memory (unlike pyloudnorm on long files). Silence gives
    (-70.0, -inf).
    """
    text = run_ffmpeg(
        ["-i", os.fspath(wav), "-vn", "-af", "ebur128=peak=true:framelog=verbose", "-f", "null", "-"],
        timeout=timeout,
    )
    return _parse_loudness(text)


def wav_duration(path):
    with wave.open(os.fspath(path), "rb") as w:
        return w.getnframes() / w.getframerate()


def _hms(seconds):
    seconds = int(round(seconds))
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


def _too_long(duration, max_seconds, at_least=False):
    prefix = "at least " if at_least else ""
    return AudioRejected(
        TOO_LONG,
        f"The recording is {prefix}{_hms(duration)} long; the limit is {_hms(max_seconds)}.",
        duration_s=round(duration, 1), max_seconds=max_seconds,
    )


def decode_silk(src, dst_wav, *, max_seconds, sample_rate=24000):
    """Decode a SILK v3 file (WeChat voice note) to a 16-bit mono WAV with silk-python."""
    import pysilk  # optional until a SILK file arrives

    raw = os.fspath(dst_wav) + ".pcm"
    try:
        with open(src, "rb") as fin, open(raw, "wb") as fout:
            try:
                pysilk.decode(fin, fout, sample_rate)
            except Exception as exc:  # pysilk raises its own SilkError for corrupt streams
                raise AudioRejected(
                    UNDECODABLE, "This WeChat voice file (SILK) is damaged and cannot be played."
                ) from exc
        size = os.path.getsize(raw)
        if size == 0:
            raise AudioRejected(UNDECODABLE, "This WeChat voice file (SILK) holds no sound.")
        if size / (2 * sample_rate) > max_seconds + _CAP_SLACK_S:
            raise _too_long(size / (2 * sample_rate), max_seconds)
        with open(raw, "rb") as fin, wave.open(os.fspath(dst_wav), "wb") as w:
            w.setnchannels(1)
            w.setsampwidth(2)
            w.setframerate(sample_rate)
            while chunk := fin.read(1 << 20):
                w.writeframes(chunk)
    finally:
        if os.path.exists(raw):
            os.remove(raw)


def decode_to_wav(src, dst, *, max_seconds, timeout, source_format=None):
    """Decode any accepted upload to 16-bit mono 44.1 kHz WAV at `dst`, metering it.

    One ffmpeg call with a duration cap (-t) and a hard timeout. A file whose
    header declares a duration over the cap is stopped as soon as ffmpeg prints
    it. Raises AudioRejected; `dst` may be left behind for the caller to delete.
    """
    fmt = source_format or sniff_format(src)
    if fmt == "silk":
        # ffmpeg has no SILK decoder: silk-python makes a plain WAV, ffmpeg does the rest.
        tmp = os.fspath(dst) + ".silk.wav"
        try:
            decode_silk(src, tmp, max_seconds=max_seconds)
            result = decode_to_wav(tmp, dst, max_seconds=max_seconds, timeout=timeout,
                                   source_format="wav")
        finally:
            if os.path.exists(tmp):
                os.remove(tmp)
        result.source_format, result.source_codec = "silk", "silk"
        return result

    info = {"input": True, "codec": "", "rate": 0, "channels": "", "estimated": False,
            "declared": None, "errors": 0}

    def watch(line):
        if line.startswith("[info] Output #0") or line.startswith("Output #0"):
            info["input"] = False
        if "Estimating duration from bitrate" in line:
            info["estimated"] = True
        if line.startswith("[error]") and "ebur128" not in line:
            info["errors"] += 1
        if not info["input"]:
            return False
        m = _AUDIO_STREAM.search(line)
        if m and not info["codec"]:
            info["codec"], info["rate"], info["channels"] = m.group(1), int(m.group(2)), m.group(3)
        m = _DURATION.search(line)
        if m:
            declared = int(m.group(1)) * 3600 + int(m.group(2)) * 60 + float(m.group(3))
            info["declared"] = declared
            # A bitrate estimate can be off for VBR MP3: only stop early when far over.
            limit = max_seconds * (2 if info["estimated"] else 1) + _CAP_SLACK_S
            return declared > limit
        return False

    graph = f"aformat=channel_layouts=mono,aresample={MASTER_RATE},ebur128=peak=true:framelog=verbose"
    args = [
        "-loglevel", "level+info", "-protocol_whitelist", "file",
        "-f", _DEMUXER[fmt], "-i", "file:" + os.path.abspath(src),
        "-map", "0:a:0", "-vn", "-sn", "-dn", "-map_metadata", "-1",
        "-t", f"{max_seconds + 1:.3f}", "-af", graph,
        "-ac", "1", "-ar", str(MASTER_RATE), "-c:a", "pcm_s16le", "-f", "wav", "-y",
        "file:" + os.path.abspath(dst),
    ]
    run = _Run(args, timeout, on_line=watch).run()
    if run.stopped:
        raise _too_long(info["declared"], max_seconds)
    if run.timed_out:
        raise AudioRejected(
            TIMEOUT, f"Decoding this file took longer than {timeout:.0f} seconds; it may be damaged."
        )
    if run.returncode != 0 or not os.path.exists(dst):
        if "matches no streams" in run.text:
            raise AudioRejected(UNDECODABLE, "The file contains no sound track.")
        raise AudioRejected(
            UNDECODABLE, f"The file looks like {fmt.upper()} but is damaged and cannot be decoded."
        )
    try:
        duration = wav_duration(dst)
    except (wave.Error, EOFError) as exc:
        raise AudioRejected(UNDECODABLE, "No sound could be decoded from this file.") from exc
    if duration <= 0:
        raise AudioRejected(UNDECODABLE, "No sound could be decoded from this file.")
    if duration > max_seconds + _CAP_SLACK_S:
        declared = info["declared"] or 0
        if declared > duration:
            raise _too_long(declared, max_seconds)
        raise _too_long(duration, max_seconds, at_least=True)
    lufs, peak = _parse_loudness(run.text)
    return DecodeResult(
        source_format=fmt, source_codec=info["codec"], source_rate=info["rate"],
        source_channels=info["channels"], duration_s=duration, lufs=lufs, true_peak_db=peak,
        damaged=info["errors"] > 0,
    )
