"""How long is this audio? Enough of WAV and MP3 to know whether a <Play> finished.

WAV: the data chunk's size over the byte rate (any codec, μ-law included). MP3: frame count from a
Xing/Info header when present, otherwise the bitrate of the first frame (exact for constant bitrate).
Anything else returns None: Twilio would refuse to play it.
"""
import struct
from typing import Optional, Tuple

_MP3_BITRATES = {  # kbit/s by (MPEG-1?, layer) for index 1..14
    (True, 3): [32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320],
    (True, 2): [32, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384],
    (True, 1): [32, 64, 96, 128, 160, 192, 224, 256, 288, 320, 352, 384, 416, 448],
    (False, 3): [8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160],
    (False, 2): [8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160],
    (False, 1): [32, 48, 56, 64, 80, 96, 112, 128, 144, 160, 176, 192, 224, 256],
}
_MP3_RATES = {3: [44100, 48000, 32000], 2: [22050, 24000, 16000], 0: [11025, 12000, 8000]}


def probe(data: bytes) -> Tuple[Optional[str], Optional[float]]:
    """(format, seconds) — ('wav', 3.0), ('mp3', 12.5) or (None, None)."""
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WAVE":
        seconds = _wav_seconds(data)
        return ("wav", seconds) if seconds is not None else (None, None)
    seconds = _mp3_seconds(data)
    if seconds is not None:
        return "mp3", seconds
    return None, None


def _wav_seconds(data: bytes) -> Optional[float]:
    pos, byte_rate = 12, None
    while pos + 8 <= len(data):
        chunk_id, size = data[pos:pos + 4], struct.unpack("<I", data[pos + 4:pos + 8])[0]
        body = pos + 8
        if chunk_id == b"fmt " and size >= 16:
            byte_rate = struct.unpack("<I", data[body + 8:body + 12])[0]
        elif chunk_id == b"data":
            if not byte_rate:
                return None
            available = len(data) - body
            # Streaming writers leave 0 or 0xFFFFFFFF here; trust what actually arrived.
            size = available if size in (0, 0xFFFFFFFF) else min(size, available)
            return size / byte_rate
        pos = body + size + (size & 1)
    return None


def _mp3_seconds(data: bytes) -> Optional[float]:
    start = 0
    if data[:3] == b"ID3" and len(data) >= 10:
        b = data[6:10]
        start = 10 + ((b[0] & 0x7F) << 21 | (b[1] & 0x7F) << 14 | (b[2] & 0x7F) << 7 | (b[3] & 0x7F))
    limit = min(len(data) - 4, start + 64 * 1024)
    pos = start
    while pos < limit:
        if data[pos] == 0xFF and data[pos + 1] & 0xE0 == 0xE0:
            frame = _mp3_frame(data, pos)
            if frame is not None:
                return _mp3_duration(data, pos, *frame)
        pos += 1
    return None


def _mp3_frame(data: bytes, pos: int):
    h = struct.unpack(">I", data[pos:pos + 4])[0]
    version = (h >> 19) & 3  # 3 = MPEG-1, 2 = MPEG-2, 0 = MPEG-2.5
    layer = 4 - ((h >> 17) & 3)  # 1, 2, 3
    bitrate_index, rate_index = (h >> 12) & 0xF, (h >> 10) & 3
    if version == 1 or layer == 4 or bitrate_index in (0, 15) or rate_index == 3:
        return None
    mpeg1 = version == 3
    bitrate = _MP3_BITRATES[(mpeg1, layer)][bitrate_index - 1] * 1000
    sample_rate = _MP3_RATES[version][rate_index]
    samples = 384 if layer == 1 else (1152 if mpeg1 or layer == 2 else 576)
    mono = ((h >> 6) & 3) == 3
    return mpeg1, mono, bitrate, sample_rate, samples


def _mp3_duration(data, pos, mpeg1, mono, bitrate, sample_rate, samples) -> float:
    side = (17 if mono else 32) if mpeg1 else (9 if mono else 17)
    tag = data[pos + 4 + side:pos + 8 + side]
    if tag in (b"Xing", b"Info"):
        flags = struct.unpack(">I", data[pos + 8 + side:pos + 12 + side])[0]
        if flags & 1:
            frames = struct.unpack(">I", data[pos + 12 + side:pos + 16 + side])[0]
            return frames * samples / sample_rate
    return (len(data) - pos) * 8 / bitrate
