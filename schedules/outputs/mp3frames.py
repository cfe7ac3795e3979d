"""MPEG audio frames of an MP3 file: where each starts and how long it sounds.

Why we parse frames ourselves: a stream must be sent at real time, and only frame boundaries give
exact timing for CBR and VBR alike (a bitrate guess drifts on VBR files and ID3 tags). The same
walk gives the duration for playlists without ffprobe (imageio-ffmpeg ships ffmpeg only).

A header is trusted only if the next frame follows where it says (or the data ends there), so a
stray 0xFFE in a tag or a damaged byte does not start a false frame.
"""
from __future__ import annotations

from typing import Iterator, NamedTuple

# kbit/s by [version is MPEG-1][layer] and bitrate index (0 = free format, unsupported).
_BITRATES = {
    (True, 1): (0, 32, 64, 96, 128, 160, 192, 224, 256, 288, 320, 352, 384, 416, 448),
    (True, 2): (0, 32, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384),
    (True, 3): (0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320),
    (False, 1): (0, 32, 48, 56, 64, 80, 96, 112, 128, 144, 160, 176, 192, 224, 256),
    (False, 2): (0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160),
    (False, 3): (0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160),
}
# Sample rates by version bits (3 = MPEG-1, 2 = MPEG-2, 0 = MPEG-2.5).
_RATES = {3: (44100, 48000, 32000), 2: (22050, 24000, 16000), 0: (11025, 12000, 8000)}


class Frame(NamedTuple):
    offset: int  # byte offset in the file
    length: int  # bytes, header included
    duration_s: float  # sound time of this frame
    sample_rate: int
    bitrate_kbps: int


def _header(data: bytes, i: int) -> Frame | None:
    if i + 4 > len(data) or data[i] != 0xFF or data[i + 1] & 0xE0 != 0xE0:
        return None
    b1, b2 = data[i + 1], data[i + 2]
    version = (b1 >> 3) & 3  # 1 is reserved
    layer = 4 - ((b1 >> 1) & 3)  # bits 00 (→4) are reserved
    bitrate_index, rate_index = b2 >> 4, (b2 >> 2) & 3
    if version == 1 or layer == 4 or bitrate_index in (0, 15) or rate_index == 3:
        return None
    mpeg1 = version == 3
    kbps = _BITRATES[(mpeg1, layer)][bitrate_index]
    rate = _RATES[version][rate_index]
    padding = (b2 >> 1) & 1
    if layer == 1:
        length, samples = (12 * kbps * 1000 // rate + padding) * 4, 384
    elif layer == 2 or mpeg1:
        length, samples = 144 * kbps * 1000 // rate + padding, 1152
    else:  # MPEG-2/2.5 layer III carries half the samples per frame
        length, samples = 72 * kbps * 1000 // rate + padding, 576
    return Frame(i, length, samples / rate, rate, kbps)


def _id3v2_size(data: bytes) -> int:
    if len(data) >= 10 and data[:3] == b"ID3":
        size = 0
        for b in data[6:10]:  # synchsafe: 7 bits per byte
            size = (size << 7) | (b & 0x7F)
        footer = 10 if data[5] & 0x10 else 0
        return 10 + size + footer
    return 0


def iter_frames(data: bytes) -> Iterator[Frame]:
    """Every MPEG audio frame in ``data`` (a whole file's bytes), skipping tags and junk."""
    i = _id3v2_size(data)
    end = len(data)
    if end >= 128 and data[end - 128:end - 125] == b"TAG":
        end -= 128  # ID3v1 trailer
    data = data[:end]
    while i + 4 <= end:
        frame = _header(data, i)
        if frame is not None:
            nxt = i + frame.length
            # A final frame cut short (file truncated mid-write) is dropped, not sent half.
            if nxt == end or (nxt < end and _header(data, nxt) is not None):
                yield frame
                i = nxt
                continue
        i += 1


def duration_s(data: bytes) -> float:
    """Sound time of all frames (includes the encoder's few ms of padding)."""
    return sum(f.duration_s for f in iter_frames(data))


def read_frames(path: str) -> tuple[bytes, list[Frame]]:
    with open(path, "rb") as f:
        data = f.read()
    return data, list(iter_frames(data))
