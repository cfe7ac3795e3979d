"""Tell the real format of an upload from its first bytes.

Never trust the file name or the Content-Type: WeChat voice notes are SILK named
`.amr`, and people rename web pages and archives to `.mp3`. `sniff_format`
returns one of FORMATS or raises `AudioRejected` (`empty` / `not_audio`) with a
message that says what the file looks like instead.
"""
import os

from .errors import EMPTY, NOT_AUDIO, AudioRejected

# Formats we hand to a decoder; everything else is rejected here.
FORMATS = (
    "mp3", "aac", "wav", "aiff", "m4a", "mp4", "3gp", "amr", "silk",
    "opus", "vorbis", "ogg", "webm", "matroska", "flac",
)

HEAD_BYTES = 4096

# MPEG audio header tables (index -> kbit/s or Hz); 0 / None mark "free" and "reserved".
_BITRATES = {
    (1, 1): (0, 32, 64, 96, 128, 160, 192, 224, 256, 288, 320, 352, 384, 416, 448),
    (1, 2): (0, 32, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384),
    (1, 3): (0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320),
    (2, 1): (0, 32, 48, 56, 64, 80, 96, 112, 128, 144, 160, 176, 192, 224, 256),
    (2, 2): (0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160),
    (2, 3): (0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160),
}
_RATES = {3: (44100, 48000, 32000), 2: (22050, 24000, 16000), 0: (11025, 12000, 8000)}

# Things people upload by mistake, checked before text so the message is specific.
_KNOWN_NOT_AUDIO = (
    (b"PK\x03\x04", "a ZIP archive (or an Office document)"),
    (b"PK\x05\x06", "an empty ZIP archive"),
    (b"\x89PNG\r\n\x1a\n", "a PNG picture"),
    (b"\xff\xd8\xff", "a JPEG picture"),
    (b"GIF8", "a GIF picture"),
    (b"%PDF", "a PDF document"),
    (b"\x7fELF", "a program (ELF executable)"),
    (b"MZ", "a Windows program"),
    (b"MThd", "a MIDI file (notes, not recorded sound)"),
    (b"Rar!", "a RAR archive"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"\xd0\xcf\x11\xe0", "an old Office document"),
)


def _mpeg_frame(head, pos):
    """Length in bytes of a plausible MPEG audio frame at `pos`, or 0."""
    if pos + 4 > len(head):
        return 0
    b1, b2 = head[pos + 1], head[pos + 2]
    if head[pos] != 0xFF or (b1 & 0xE0) != 0xE0:
        return 0
    version_bits, layer_bits = (b1 >> 3) & 3, (b1 >> 1) & 3
    bitrate_idx, rate_idx = b2 >> 4, (b2 >> 2) & 3
    if version_bits == 1 or layer_bits == 0 or bitrate_idx in (0, 15) or rate_idx == 3:
        return 0  # reserved values, or "free format" which no phone writes
    version = 1 if version_bits == 3 else 2
    layer = 4 - layer_bits
    kbps = _BITRATES[(version, layer)][bitrate_idx]
    rate = _RATES[version_bits][rate_idx]
    padding = (b2 >> 1) & 1
    if layer == 1:
        return (12 * kbps * 1000 // rate + padding) * 4
    per_frame = 144 if (layer == 3 and version == 1) or layer == 2 else 72
    return per_frame * kbps * 1000 // rate + padding


def _adts_frame(head, pos):
    """True if an AAC ADTS header (raw .aac from phones and some recorders) starts at `pos`."""
    if pos + 7 > len(head):
        return False
    b1, b2 = head[pos + 1], head[pos + 2]
    return head[pos] == 0xFF and (b1 & 0xF6) == 0xF0 and ((b2 >> 2) & 0xF) < 13


def _looks_like_mpeg(head, pos):
    """A frame at `pos` that is followed by another frame (or by the end of what we read)."""
    length = _mpeg_frame(head, pos)
    if not length:
        return False
    nxt = pos + length
    if nxt + 4 > len(head):
        return nxt <= len(head) or len(head) == HEAD_BYTES  # whole frame present, or more to read
    return _mpeg_frame(head, nxt) > 0


def _id3_length(head):
    """Bytes taken by a leading ID3v2 tag (synch-safe size + header + optional footer)."""
    size = 0
    for b in head[6:10]:
        if b & 0x80:
            return None  # not synch-safe: a corrupt or fake tag
        size = (size << 7) | b
    footer = 10 if head[5] & 0x10 else 0
    return 10 + size + footer


def _ogg_codec(head):
    n_segments = head[26] if len(head) > 26 else 0
    packet = head[27 + n_segments: 27 + n_segments + 16]
    if packet.startswith(b"OpusHead"):
        return "opus"
    if packet.startswith(b"\x01vorbis"):
        return "vorbis"
    if packet.startswith(b"\x7fFLAC"):
        return "flac"
    return "ogg"  # Speex or something rarer: let the decoder decide


def _matroska_kind(head):
    # The EBML header names its DocType near the start; browsers' MediaRecorder writes "webm".
    if b"webm" in head[:64]:
        return "webm"
    return "matroska"


def _text_kind(head):
    sample = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if sample.startswith((b"<!doctype", b"<html", b"<head", b"<body", b"<script")):
        return "a web page (HTML)"
    if sample.startswith(b"<?xml") or sample.startswith(b"<svg"):
        return "an XML or SVG document"
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "a text file (UTF-16)"
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        # Cut in the middle of a multi-byte character at the end of the sample.
        try:
            text = head[:-3].decode("utf-8")
        except UnicodeDecodeError:
            return None
    printable = sum(ch.isprintable() or ch in "\r\n\t" for ch in text)
    if text and printable / len(text) > 0.95:
        return "a text file"
    return None


def _sniff_head(head):
    """Format of a file starting with `head` (no ID3 tag), or "" if unknown."""
    if head.startswith(b"RIFF") and head[8:12] == b"WAVE" or head.startswith((b"RF64", b"BW64")):
        return "wav"
    if head.startswith(b"FORM") and head[8:12] in (b"AIFF", b"AIFC"):
        return "aiff"
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand.startswith(b"M4A") or brand.startswith(b"M4B"):
            return "m4a"
        if brand.startswith(b"3g"):
            return "3gp"
        return "mp4"
    if head.startswith(b"#!AMR"):
        return "amr"
    if head.startswith(b"#!SILK_V3") or head.startswith(b"\x02#!SILK_V3"):
        return "silk"  # WeChat prepends 0x02 to the standard SILK header
    if head.startswith(b"OggS"):
        return _ogg_codec(head)
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return _matroska_kind(head)
    if head.startswith(b"fLaC"):
        return "flac"
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return ""  # UTF-16 text: its byte-order mark also looks like an MPEG sync word
    if _looks_like_mpeg(head, 0):
        return "mp3"
    if _adts_frame(head, 0):
        return "aac"
    return ""


def _after_id3(fh, size):
    """Skip one or more ID3v2 tags (which can hold a large cover picture), then sniff."""
    offset = 0
    for _ in range(8):  # ffmpeg and taggers sometimes stack tags; a loop bound stops tricks
        fh.seek(offset)
        head = fh.read(HEAD_BYTES)
        # Some taggers leave zero padding after the declared tag size.
        stripped = head.lstrip(b"\x00")
        offset += len(head) - len(stripped)
        if not stripped.startswith(b"ID3"):
            break
        tag = _id3_length(stripped) if len(stripped) >= 10 else None
        if tag is None:
            raise AudioRejected(NOT_AUDIO, "The file starts with a damaged ID3 tag.")
        offset += tag
        if offset >= size:
            raise AudioRejected(
                NOT_AUDIO, "The file holds only an MP3 tag (title, cover picture) and no sound."
            )
    if stripped.startswith(b"fLaC"):
        return "flac"
    if _looks_like_mpeg(stripped, 0):
        return "mp3"
    if _adts_frame(stripped, 0):
        return "aac"
    raise AudioRejected(NOT_AUDIO, "The file has an MP3 tag but no MP3 sound after it.")


def sniff_format(path):
    """Return the real audio format of the file at `path` (one of FORMATS).

    Raises AudioRejected('empty' | 'not_audio') for anything we should not decode.
    """
    size = os.path.getsize(path)
    if size == 0:
        raise AudioRejected(EMPTY, "The file is empty (0 bytes).")
    with open(path, "rb") as fh:
        head = fh.read(HEAD_BYTES)
        if head.startswith(b"ID3"):
            return _after_id3(fh, size)
    fmt = _sniff_head(head)
    if fmt:
        return fmt
    for magic, what in _KNOWN_NOT_AUDIO:
        if head.startswith(magic):
            raise AudioRejected(NOT_AUDIO, f"This is {what}, not an audio recording.")
    what = _text_kind(head)
    if what:
        raise AudioRejected(NOT_AUDIO, f"This is {what}, not an audio recording.")
    raise AudioRejected(
        NOT_AUDIO,
        "This file is not a recording in a format we know "
        "(MP3, WAV, M4A/AAC, AMR, WeChat voice, OGG/Opus, WebM, FLAC).",
    )
