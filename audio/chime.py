"""The attention chime played before a loudspeaker notice, made in code.

A soft two-tone "ding-dong" (E5 then C5, a major third down) with a few bell-like
partials and exponential decay, peaking at -4 dBFS so it sits under the limiter's
ceiling and never startles. Generated, not shipped, so there is no asset to lose.
"""
import array
import functools
import math
import os
import sys
import wave

NOTES_HZ = (659.25, 523.25)     # E5, C5
NOTE_GAP_S = 0.45               # second note starts this long after the first
RING_S = 1.3                    # each note decays over about this long
TAIL_S = 0.6                    # quiet after the chime, before the speech starts
PEAK = 10 ** (-4 / 20)          # -4 dBFS: about as loud as speech at -16 LUFS
# (multiple of the fundamental, relative level): a warm bell, not a beep.
PARTIALS = ((1.0, 1.0), (2.0, 0.35), (3.0, 0.12), (4.2, 0.05))


def chime_samples(rate):
    """The chime as a list of floats in [-PEAK, PEAK]."""
    total = int((NOTE_GAP_S * (len(NOTES_HZ) - 1) + RING_S + TAIL_S) * rate)
    out = [0.0] * total
    attack = int(0.008 * rate)  # 8 ms fade-in avoids a click
    for k, f0 in enumerate(NOTES_HZ):
        start = int(k * NOTE_GAP_S * rate)
        for i in range(int(RING_S * rate)):
            t = i / rate
            env = math.exp(-4.0 * t) * (min(1.0, i / attack) if attack else 1.0)
            # Fade the last 50 ms to exactly zero so the ring never ends abruptly.
            env *= min(1.0, (RING_S - t) / 0.05)
            value = sum(level * math.sin(2 * math.pi * f0 * mult * t) for mult, level in PARTIALS)
            out[start + i] += env * value
    top = max(abs(v) for v in out) or 1.0
    return [v * PEAK / top for v in out]


@functools.lru_cache(maxsize=2)
def _chime_pcm(rate):
    samples = array.array("h", (int(round(v * 32767)) for v in chime_samples(rate)))
    if sys.byteorder == "big":
        samples.byteswap()
    return samples.tobytes()


def write_chime(path, rate=44100):
    """Write the chime as a 16-bit mono WAV; return its duration in seconds."""
    pcm = _chime_pcm(rate)  # cached: the maths takes ~0.2 s and never changes
    with wave.open(os.fspath(path), "wb") as w:
        w.setparams((1, 2, rate, 0, "NONE", "not compressed"))
        w.writeframes(pcm)
    return len(pcm) / 2 / rate
