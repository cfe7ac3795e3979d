"""Build both renditions of a notice from its trimmed master in one ffmpeg run.

    master.wav ─┬─ gain → limiter ─┐
    (×N copies) │                  ├─ [chime] + copy₁ + gap + … + copyₙ → loudspeaker.mp3 (44.1 kHz)
                └─ gain → limiter → resample 8 kHz ────────────────────→ telephone.wav (μ-law)

Loudness: a plain gain brings the speech to TARGET_LUFS (measured once at
decode time), then ffmpeg's look-ahead limiter holds peaks under
LIMIT_DBFS — never pydub's `apply_gain`, which hard-clips. The ceiling sits
below the -1.5 dBTP target to leave room for inter-sample peaks and MP3
overshoot. Limiting lowers loudness a little (about 1 LU on typical speech),
so when the limiter will act, `settle_gain` meters gain+limiter once (a fast
pass: no encoding, no true-peak oversampling) and corrects the gain. This is
ffmpeg's `loudnorm` idea at a tenth of its cost (loudnorm resamples to 192 kHz). Each repeat reads the master file again instead of splitting one
stream, so ffmpeg never buffers a whole copy in memory.
"""
import math
import os

from .ffmpeg import _parse_loudness, run_ffmpeg

TARGET_LUFS = -16.0
TARGET_TRUE_PEAK_DB = -1.5
LIMIT_DBFS = -2.0
MAX_GAIN_DB = 30.0          # beyond this we would only be amplifying hiss
LOUDSPEAKER_RATE = 44100
LOUDSPEAKER_BITRATE = "128k"  # mono: transparent for speech and announcements
TELEPHONE_RATE = 8000


def gain_for(lufs):
    """dB to add so speech measured at `lufs` plays at TARGET_LUFS (capped for near-silence)."""
    if not math.isfinite(lufs):
        return 0.0
    return max(-40.0, min(MAX_GAIN_DB, TARGET_LUFS - lufs))


def settle_gain(master_wav, lufs, true_peak_db, *, timeout=120.0):
    """Gain in dB that lands the limited speech on TARGET_LUFS."""
    gain = gain_for(lufs)
    if not math.isfinite(true_peak_db) or true_peak_db + gain <= LIMIT_DBFS:
        return gain  # the limiter will not touch it: a plain gain is exact
    text = run_ffmpeg(
        ["-protocol_whitelist", "file", "-i", "file:" + os.path.abspath(master_wav),
         "-af", _level_chain(gain) + ",ebur128=framelog=verbose", "-f", "null", "-"],
        timeout=timeout,
    )
    limited, _ = _parse_loudness(text)
    if not math.isfinite(limited) or limited <= -70:
        return gain
    # Pushing harder into the limiter loses a little again; 3 dB is plenty for speech.
    return min(MAX_GAIN_DB, gain + max(0.0, min(3.0, TARGET_LUFS - limited)))


def _level_chain(gain_db):
    limit = 10 ** (LIMIT_DBFS / 20)
    # level=false: alimiter otherwise "auto-levels" its output up to the limit.
    # latency=true: compensate the look-ahead delay so copies stay aligned.
    return (f"volume={gain_db:.2f}dB:precision=float,"
            f"alimiter=limit={limit:.4f}:attack=5:release=50:level=false:latency=true")


def render(master_wav, loudspeaker_mp3, telephone_wav, *, gain_db, repeat=1, gap_seconds=2.0,
           chime_wav=None, timeout=120.0):
    """Write the loudspeaker MP3 and the telephone μ-law WAV from `master_wav`."""
    if repeat < 1:
        raise ValueError("repeat must be at least 1")
    if gap_seconds < 0:
        raise ValueError("gap_seconds cannot be negative")
    src = "file:" + os.path.abspath(master_wav)
    inputs, parts, labels = [], [], []
    if chime_wav:
        inputs += ["-i", "file:" + os.path.abspath(chime_wav)]
        parts.append(f"[0:a]aresample={LOUDSPEAKER_RATE}[chime]")
        labels.append("[chime]")
    first = len(inputs) // 2
    for k in range(repeat):
        inputs += ["-i", src]
        pad = f",apad=pad_dur={gap_seconds:.3f}" if k < repeat - 1 else ""
        parts.append(f"[{first + k}:a]{_level_chain(gain_db)}{pad}[s{k}]")
        labels.append(f"[s{k}]")
    tel = first + repeat
    inputs += ["-i", src]
    if len(labels) > 1:
        parts.append(f"{''.join(labels)}concat=n={len(labels)}:v=0:a=1[ls]")
    else:
        parts.append(f"{labels[0]}anull[ls]")
    parts.append(f"[{tel}:a]{_level_chain(gain_db)},aresample={TELEPHONE_RATE}[tel]")
    args = [
        "-loglevel", "error", "-protocol_whitelist", "file", *inputs,
        "-filter_complex", ";".join(parts),
        "-map", "[ls]", "-map_metadata", "-1", "-ac", "1", "-ar", str(LOUDSPEAKER_RATE),
        "-c:a", "libmp3lame", "-b:a", LOUDSPEAKER_BITRATE, "-f", "mp3", "-y",
        "file:" + os.path.abspath(loudspeaker_mp3),
        "-map", "[tel]", "-map_metadata", "-1", "-ac", "1", "-ar", str(TELEPHONE_RATE),
        "-c:a", "pcm_mulaw", "-f", "wav", "-y", "file:" + os.path.abspath(telephone_wav),
    ]
    run_ffmpeg(args, timeout=timeout)
