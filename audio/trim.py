"""Trim silence at the two ends of a master WAV, and scan what remains.

Only the ends are trimmed: pydub's `strip_silence` deletes pauses inside speech,
which ruins a spoken notice. We run pydub's `detect_leading_silence` on the
start of the file and on the reversed end, a window at a time, so a 30-minute
upload never sits in memory whole (pydub holds a segment as one bytes object).
"""
import array
import math
import os
import sys
import warnings
import wave
from dataclasses import dataclass

with warnings.catch_warnings():
    # audioop is deprecated in 3.11/3.12 (pydub needs it anyway); 3.13+ gets audioop-lts.
    warnings.simplefilter("ignore", DeprecationWarning)
    import audioop
    # pydub warns at import that it cannot find ffmpeg on PATH: we never let it call ffmpeg.
    warnings.simplefilter("ignore", RuntimeWarning)
    from pydub import AudioSegment
    from pydub.silence import detect_leading_silence

WINDOW_S = 30       # seconds of audio given to pydub at a time
PAD_MS = 150        # silence kept at each end so soft first/last syllables survive
CHUNK_MS = 10       # pydub's resolution when looking for the first sound
SCAN_MS = 50        # resolution of the silent-fraction measure
READ_FRAMES = 1 << 16


def silence_threshold(lufs):
    """dBFS under which a 10 ms chunk counts as silence, from the file's loudness.

    30 dB under the programme loudness, kept between -60 and -40 dBFS: a quiet
    recording keeps its soft consonants, a loud one loses its background hiss.
    """
    if not math.isfinite(lufs):
        return -60.0
    return max(-60.0, min(-40.0, lufs - 30.0))


def _segment(w, start, count):
    w.setpos(start)
    data = w.readframes(count)
    return AudioSegment(data=data, sample_width=w.getsampwidth(),
                        frame_rate=w.getframerate(), channels=w.getnchannels())


def find_speech_bounds(wav_path, threshold_db, *, pad_ms=PAD_MS, window_s=WINDOW_S):
    """(first_frame, end_frame) of the part worth keeping, or None if all of it is silence."""
    with wave.open(os.fspath(wav_path), "rb") as w:
        n, rate = w.getnframes(), w.getframerate()
        window = int(window_s * rate)
        lead = None
        for offset in range(0, n, window):
            seg = _segment(w, offset, min(window, n - offset))
            ms = detect_leading_silence(seg, silence_threshold=threshold_db, chunk_size=CHUNK_MS)
            if ms < len(seg):
                lead = offset + int(ms * rate / 1000)
                break
        if lead is None:
            return None
        trail = None
        for end in range(n, lead, -window):
            begin = max(lead, end - window)
            seg = _segment(w, begin, end - begin).reverse()
            ms = detect_leading_silence(seg, silence_threshold=threshold_db, chunk_size=CHUNK_MS)
            if ms < len(seg):
                trail = end - int(ms * rate / 1000)
                break
        if trail is None:  # cannot happen once a lead was found; keep the whole tail
            trail = n
        pad = int(pad_ms * rate / 1000)
        return max(0, lead - pad), min(n, trail + pad)


@dataclass
class Scan:
    """Facts about the kept audio, gathered while copying it."""

    frames: int
    rate: int
    silent_fraction: float   # share of 50 ms windows quieter than the silence threshold
    clipped_samples: int     # samples pinned at full scale
    peak: int                # largest absolute sample value

    @property
    def duration_s(self):
        return self.frames / self.rate if self.rate else 0.0


def copy_and_scan(src_wav, dst_wav, start, end, threshold_db):
    """Copy frames [start, end) of a 16-bit mono WAV to `dst_wav`, measuring them on the way."""
    floor = 32768 * 10 ** (threshold_db / 20)
    silent = windows = clipped = peak = 0
    with wave.open(os.fspath(src_wav), "rb") as r, wave.open(os.fspath(dst_wav), "wb") as w:
        if r.getsampwidth() != 2 or r.getnchannels() != 1:
            raise ValueError("copy_and_scan expects the 16-bit mono master")
        rate = r.getframerate()
        w.setparams((1, 2, rate, 0, "NONE", "not compressed"))
        step = max(1, rate * SCAN_MS // 1000)
        read = READ_FRAMES - READ_FRAMES % step  # whole scan windows per read
        r.setpos(start)
        left = end - start
        while left > 0:
            data = r.readframes(min(read, left))
            if not data:
                break
            left -= len(data) // 2
            w.writeframes(data)
            loudest = audioop.max(data, 2)
            peak = max(peak, loudest)
            if loudest >= 32767:  # counting is slow-ish; only chunks that reach full scale
                samples = array.array("h", data)
                if sys.byteorder == "big":
                    samples.byteswap()
                clipped += samples.count(32767) + samples.count(-32768)
            for i in range(0, len(data), step * 2):
                windows += 1
                if audioop.rms(data[i:i + step * 2], 2) < floor:
                    silent += 1
        frames = end - start - max(left, 0)
    return Scan(frames=frames, rate=rate, silent_fraction=silent / windows if windows else 1.0,
                clipped_samples=clipped, peak=peak)
