"""Turn one uploaded file into a notice's audio: master, loudspeaker and telephone versions.

    upload ─ sniff ─ decode+meter ─ trim ends ─ copy+scan ─ render ─→ ProcessedAudio
       │       │          │             │            │          │
       └───────┴──────────┴─ AudioRejected (code) ───┴──────────┘ → every file written is removed

The upload itself is never modified or renamed (the caller keeps it as the
original); everything written here gets a generated name in `out_dir`.
"""
import os
import uuid
from dataclasses import dataclass, field
from typing import NamedTuple

from . import render as _render
from .chime import write_chime
from .errors import SILENT, TOO_LARGE, TOO_SHORT, AudioRejected
from .ffmpeg import decode_to_wav
from .sniff import sniff_format
from .trim import copy_and_scan, find_speech_bounds, silence_threshold

MAX_SECONDS = 1800           # 30 minutes: longer uploads are not notices
MAX_BYTES = 100 * 1024 ** 2  # a 30-minute stereo WAV is ~320 MB; MP3/M4A are far smaller
MIN_SECONDS = 0.6            # less than this after trimming is a slip of the finger
MAX_REPEAT = 20

# Warning codes: the audio was accepted but the user should look at it.
TOO_QUIET = "too_quiet"                  # recorded far too softly; normalising amplified the hiss too
CLIPPED = "clipped"                      # the recording distorts (samples pinned at full scale)
MOSTLY_SILENCE = "mostly_silence"        # more pause than speech between the first and last sound
TOO_LONG_FOR_CALL = "too_long_for_call"  # over 3 minutes: people hang up before the end
LOW_SAMPLE_RATE = "low_sample_rate"      # under 16 kHz: sounds muffled on a loudspeaker
DAMAGED = "damaged"                      # the decoder skipped broken parts of the file
SYNTHETIC = "synthetic"                  # machine speech (TTS draft): a human recording is better

WARNING_MESSAGES = {
    TOO_QUIET: "The recording is very quiet; background noise was made louder with it.",
    CLIPPED: "The recording is distorted (too loud when recorded).",
    MOSTLY_SILENCE: "Most of the recording is silence.",
    TOO_LONG_FOR_CALL: "Longer than 3 minutes: many people hang up before the end of a call.",
    LOW_SAMPLE_RATE: "Recorded at telephone quality; it will sound muffled on a loudspeaker.",
    DAMAGED: "Parts of the file were damaged and were skipped.",
    SYNTHETIC: "Machine-generated speech: a recording of a familiar voice works better.",
}

TOO_QUIET_LUFS = -35.0
MOSTLY_SILENCE_FRACTION = 0.5
CALL_SECONDS = 180
LOW_RATE_HZ = 16000


class Rendition(NamedTuple):
    path: str
    size_bytes: int
    duration_s: float


@dataclass
class ProcessedAudio:
    source_format: str       # sniffed from the bytes, e.g. "mp3", "silk"
    duration_s: float        # of the trimmed master (what people hear, once)
    sample_rate: int         # of the upload's audio stream, Hz
    lufs: float              # integrated loudness of the upload (mono), before normalising
    true_peak_db: float      # of the upload (mono), dBTP
    master_path: str         # trimmed 16-bit mono 44.1 kHz WAV, not normalised
    renditions: dict = field(default_factory=dict)  # name -> Rendition(path, size_bytes, duration_s)
    warnings: list = field(default_factory=list)    # warning codes, see WARNING_MESSAGES
    source_duration_s: float = 0.0
    trimmed_start_s: float = 0.0  # silence removed before the first sound
    trimmed_end_s: float = 0.0    # silence removed after the last sound
    gain_db: float = 0.0          # gain applied to reach the loudness target


def _remove_all(paths):
    for path in paths:
        try:
            os.remove(path)
        except FileNotFoundError:
            pass


def process_upload(src_path, out_dir, *, chime=False, repeat=1, gap_seconds=2.0,
                   max_seconds=MAX_SECONDS, max_bytes=MAX_BYTES, timeout=120.0, synthetic=False):
    """Process the uploaded file at `src_path` into `out_dir`; return ProcessedAudio.

    Raises AudioRejected for unusable input (nothing is left in `out_dir`) and
    ValueError for bad options.
    """
    if not 1 <= int(repeat) <= MAX_REPEAT:
        raise ValueError(f"repeat must be between 1 and {MAX_REPEAT}")
    if not 0 <= float(gap_seconds) <= 60:
        raise ValueError("gap_seconds must be between 0 and 60")
    size = os.path.getsize(src_path)
    if size > max_bytes:
        raise AudioRejected(
            TOO_LARGE,
            f"The file is {size / 1024 ** 2:.0f} MB; the limit is {max_bytes / 1024 ** 2:.0f} MB.",
            size_bytes=size, max_bytes=max_bytes,
        )
    fmt = sniff_format(src_path)
    os.makedirs(out_dir, exist_ok=True)
    stem = uuid.uuid4().hex
    written = []

    def new_path(suffix):
        path = os.path.join(out_dir, f"{stem}-{suffix}")
        written.append(path)
        return path

    try:
        decoded = new_path("decoded.tmp.wav")
        info = decode_to_wav(src_path, decoded, max_seconds=max_seconds, timeout=timeout,
                             source_format=fmt)
        threshold = silence_threshold(info.lufs)
        bounds = find_speech_bounds(decoded, threshold)
        if bounds is None:
            raise AudioRejected(SILENT, "The recording is silent: no voice or sound was found.")
        master = new_path("master.wav")
        scan = copy_and_scan(decoded, master, bounds[0], bounds[1], threshold)
        os.remove(decoded)
        if scan.duration_s < MIN_SECONDS:
            raise AudioRejected(
                TOO_SHORT, f"Only {scan.duration_s:.1f} seconds of sound were found; "
                "that is too short for a notice.", duration_s=round(scan.duration_s, 2),
            )

        chime_path, chime_s = None, 0.0
        if chime:
            chime_path = new_path("chime.tmp.wav")
            chime_s = write_chime(chime_path)
        gain = _render.settle_gain(master, info.lufs, info.true_peak_db, timeout=timeout)
        loudspeaker, telephone = new_path("loudspeaker.mp3"), new_path("telephone.wav")
        out_seconds = chime_s + repeat * scan.duration_s + (repeat - 1) * gap_seconds
        _render.render(master, loudspeaker, telephone, gain_db=gain, repeat=repeat,
                       gap_seconds=gap_seconds, chime_wav=chime_path,
                       timeout=timeout + out_seconds / 10)
        if chime_path:
            os.remove(chime_path)
    except BaseException:
        _remove_all(written)
        raise

    warnings = []
    if info.lufs < TOO_QUIET_LUFS:
        warnings.append(TOO_QUIET)
    if scan.clipped_samples >= max(20, scan.frames // 10000):
        warnings.append(CLIPPED)
    if scan.silent_fraction > MOSTLY_SILENCE_FRACTION:
        warnings.append(MOSTLY_SILENCE)
    if scan.duration_s > CALL_SECONDS:
        warnings.append(TOO_LONG_FOR_CALL)
    if 0 < info.source_rate < LOW_RATE_HZ:
        warnings.append(LOW_SAMPLE_RATE)
    if info.damaged:
        warnings.append(DAMAGED)
    if synthetic:
        warnings.append(SYNTHETIC)

    rate = scan.rate
    return ProcessedAudio(
        source_format=info.source_format,
        duration_s=round(scan.duration_s, 3),
        sample_rate=info.source_rate,
        lufs=info.lufs,
        true_peak_db=info.true_peak_db,
        master_path=master,
        renditions={
            "loudspeaker": Rendition(loudspeaker, os.path.getsize(loudspeaker), round(out_seconds, 3)),
            "telephone": Rendition(telephone, os.path.getsize(telephone), round(scan.duration_s, 3)),
        },
        warnings=warnings,
        source_duration_s=round(info.duration_s, 3),
        trimmed_start_s=round(bounds[0] / rate, 3),
        trimmed_end_s=round(info.duration_s - bounds[1] / rate, 3),
        gain_db=round(gain, 2),
    )
