"""Build tests/audio/corpus/: broken, hostile and awkward uploads, plus MANIFEST.json.

Run once (the output is checked in):  .venv/bin/python tests/audio/make_corpus.py
Needs only the project's own dependencies (imageio-ffmpeg, silk-python). Every
file is small; the 10-hour and oversize uploads are made at test time instead.
The speech-like signal (`speechlike`) is also used by the tests for good-path
files, so no test depends on a TTS engine.
"""
import functools
import io
import json
import math
import os
import random
import struct
import subprocess
import sys
import wave
import zipfile
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.path.join(HERE, "corpus")
PATH_TRAVERSAL_NAME = "..%2F..%2Fetc%2Fpasswd;$(reboot) 通知.mp3"


def ffmpeg():
    import imageio_ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()


def run_ffmpeg(*args):
    subprocess.run([ffmpeg(), "-hide_banner", "-loglevel", "error", "-y", *args], check=True,
                   stdin=subprocess.DEVNULL, timeout=120)


# --- a deterministic speech-like signal --------------------------------------------------

@functools.lru_cache(maxsize=32)
def _syllable(rate, f0, dur, vowel):
    """One voiced syllable: a gliding pitch, formant-weighted harmonics, smooth envelope."""
    formants = ((700, 1200), (400, 2000), (300, 800), (500, 1700))[vowel % 4]
    n = int(dur * rate)
    harmonics = []
    for k in range(1, 30):
        f = f0 * k
        if f > min(4000, rate / 2 - 200):
            break
        weight = sum(math.exp(-((f - fm) / 180) ** 2) for fm in formants) + 0.15 / k
        harmonics.append((k, weight))
    total = sum(w for _, w in harmonics)
    out = []
    phase = 0.0
    for i in range(n):
        t = i / n
        glide = f0 * (1.1 - 0.2 * t)  # Mandarin-ish falling contour
        phase += 2 * math.pi * glide / rate
        env = math.sin(math.pi * t) ** 0.6
        out.append(env * sum(w * math.sin(k * phase) for k, w in harmonics) / total)
    return tuple(out)


def speechlike(rate=16000, plan="ssss_sss_ssss", level_db=-18.0, seed=1):
    """16-bit mono PCM bytes. plan: s = syllable, _ = short pause, . = 1 s pause, | = 0.25 s."""
    rng = random.Random(seed)
    samples = []
    for ch in plan:
        if ch == "s":
            syl = _syllable(rate, rng.choice((120, 140, 170, 200)), rng.choice((0.18, 0.22, 0.26)),
                            rng.randrange(4))
            samples.extend(syl)
            samples.extend([0.0] * int(0.04 * rate))
        elif ch == "_":
            samples.extend([0.0] * int(0.12 * rate))
        elif ch == "|":
            samples.extend([0.0] * int(0.25 * rate))
        elif ch == ".":
            samples.extend([0.0] * rate)
    peak = max(abs(s) for s in samples) or 1.0
    gain = 10 ** (level_db / 20) / peak * 2.5  # peaks ~8 dB over the RMS-ish level
    gain = min(gain, 0.97 / peak)
    return struct.pack(f"<{len(samples)}h", *(int(s * gain * 32767) for s in samples))


def write_wav(path, pcm, rate, channels=1, width=2):
    with wave.open(path, "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(width)
        w.setframerate(rate)
        w.writeframes(pcm)


def silence_pcm(seconds, rate):
    return b"\x00\x00" * int(seconds * rate)


def encode(pcm, rate, dst, *args):
    """Encode mono 16-bit PCM with ffmpeg to `dst` (codec options in args)."""
    src = dst + ".src.wav"
    write_wav(src, pcm, rate)
    try:
        run_ffmpeg("-i", src, "-map_metadata", "-1", *args, dst)
    finally:
        os.remove(src)


def _id3(payload_size, declared=None):
    size = declared if declared is not None else payload_size
    synch = bytes(((size >> s) & 0x7F) for s in (21, 14, 7, 0))
    return b"ID3\x04\x00\x00" + synch + b"\x00" * payload_size


def _png():
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    raw = b"".join(b"\x00" + b"\xff\x00\x00" * 8 for _ in range(8))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 8, 8, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def _zip():
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("通知.txt", "明天开会")
    return buf.getvalue()


def _bogus_wav():
    fmt = struct.pack("<HHIIHH", 0x1234, 0, 0, 0, 0, 0)
    data = bytes(random.Random(3).randrange(256) for _ in range(2000))
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt + b"data" + struct.pack("<I", len(data)) + data
    return b"RIFF" + struct.pack("<I", len(body)) + body


def _wav_claiming(seconds_declared, pcm, rate):
    buf = io.BytesIO()
    write_wav(buf, pcm, rate)
    raw = bytearray(buf.getvalue())
    declared = int(seconds_declared * rate * 2)
    raw[4:8] = struct.pack("<I", min(0xFFFFFFFF, declared + 36))
    raw[40:44] = struct.pack("<I", min(0xFFFFFFFF, declared))
    return bytes(raw)


def build(out=CORPUS):
    """Write every corpus file; return the manifest {name: expectation}."""
    os.makedirs(out, exist_ok=True)
    rng = random.Random(42)
    manifest = {}

    def put(name, data, why, **expect):
        with open(os.path.join(out, name), "wb") as fh:
            fh.write(data)
        manifest[name] = {"why": why, **expect}

    def put_encoded(name, pcm, rate, args, why, **expect):
        encode(pcm, rate, os.path.join(out, name), *args)
        manifest[name] = {"why": why, **expect}

    def mp3_bytes(pcm, rate, *args):
        tmp = os.path.join(out, ".tmp.mp3")
        encode(pcm, rate, tmp, "-c:a", "libmp3lame", "-b:a", "32k", *args)
        with open(tmp, "rb") as fh:
            data = fh.read()
        os.remove(tmp)
        return data

    speech = speechlike(16000, "ssss_sss|ssss_sss")
    mp3 = mp3_bytes(speech, 16000)
    reject = functools.partial(dict, expect="reject")

    # Not audio at all, whatever the name says.
    put("empty.mp3", b"", "0 bytes", **reject(code="empty"))
    put("web_page.mp3", b"<!DOCTYPE html><html><head><title>Login</title></head><body>x</body></html>\n",
        "HTML renamed .mp3", **reject(code="not_audio"))
    put("archive.mp3", _zip(), "ZIP renamed .mp3", **reject(code="not_audio"))
    put("picture.mp3", _png(), "PNG renamed .mp3", **reject(code="not_audio"))
    put("document.mp3", b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n", "PDF renamed .mp3",
        **reject(code="not_audio"))
    put("notice.mp3", "各位村民：明天上午九点开会。\nMeeting tomorrow 9am.\n".encode("utf-8"),
        "a text file", **reject(code="not_audio"))
    put("utf16_text.amr", "通知：停止聚餐".encode("utf-16"), "UTF-16 text named .amr", **reject(code="not_audio"))
    put("photo.m4a", b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(rng.randrange(256) for _ in range(500)),
        "JPEG named .m4a", **reject(code="not_audio"))
    put("random_bytes.mp3", b"\x00\x01" + bytes(rng.randrange(256) for _ in range(4000)),
        "random bytes", **reject(code="not_audio"))
    put("program.wav", b"\x7fELF\x02\x01\x01" + bytes(200), "an executable named .wav", **reject(code="not_audio"))
    put("song.mp3", b"MThd\x00\x00\x00\x06\x00\x00\x00\x01\x00\x60MTrk\x00\x00\x00\x04\x00\xff\x2f\x00",
        "MIDI (notes, not sound)", **reject(code="not_audio"))
    put("playlist.mp3", b"#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:10,\nfile:///etc/passwd\n#EXT-X-ENDLIST\n",
        "HLS playlist pointing at a local file (ffmpeg file-read trick)", **reject(code="not_audio"))
    put("image.mp3", b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
        "SVG with script", **reject(code="not_audio"))
    put("tag_only.mp3", _id3(2048), "ID3 tag and no audio", **reject(code="not_audio"))
    put("tag_size_lies.mp3", _id3(64, declared=200 * 1024 * 1024) + mp3[:2000],
        "ID3 tag declaring 200 MB", **reject(code="not_audio"))
    put("garbage_then_mp3.mp3", bytes(rng.randrange(1, 255) for _ in range(1024)) + mp3,
        "1 KB of junk before the MP3", **reject(code="not_audio"))

    # MP3 damage.
    put("huge_id3_tag.mp3", _id3(400 * 1024) + mp3, "400 KB ID3 tag before real audio",
        expect="accept", format="mp3", warnings=[])
    put("truncated.mp3", mp3[: len(mp3) * 6 // 10 + 37], "cut mid-frame at 60%",
        expect="accept", format="mp3", warnings=[], allow=["damaged"])
    put("truncated_to_first_frames.mp3", mp3[:420], "only the first few frames survive",
        **reject(code="too_short"))
    damaged = bytearray(mp3)
    middle = len(damaged) // 2
    damaged[middle:middle + 1500] = bytes(rng.randrange(256) for _ in range(1500))
    put("garbage_inside.mp3", bytes(damaged), "1.5 KB of junk in the middle",
        expect="accept", format="mp3", warnings=[], allow=["damaged"])
    put(PATH_TRAVERSAL_NAME, mp3, "hostile file name; content is fine",
        expect="accept", format="mp3", warnings=[])

    # WAV oddities.
    put("silence.wav", _wav_bytes(silence_pcm(3, 16000), 16000), "3 s of digital silence", **reject(code="silent"))
    hiss = struct.pack("<48000h", *(rng.randint(-6, 6) for _ in range(48000)))
    put("faint_hiss.wav", _wav_bytes(hiss, 16000), "3 s of hiss at about -75 dBFS", **reject(code="silent"))
    tone = struct.pack("<32000h", *(max(-32768, min(32767, int(65535 * math.sin(2 * math.pi * 1000 * i / 16000))))
                                    for i in range(32000)))
    put("tone_1khz_clipped.wav", _wav_bytes(tone, 16000), "1 kHz tone driven 6 dB into clipping",
        expect="accept", format="wav", warnings=["clipped"])
    for rate in (8000, 11025):
        put(f"speech_{rate}hz.wav", _wav_bytes(speechlike(rate, "ssss_sss"), rate), f"recorded at {rate} Hz",
            expect="accept", format="wav", warnings=["low_sample_rate"])
    put("speech_96000hz.wav", _wav_bytes(speechlike(96000, "sss"), 96000), "recorded at 96 kHz",
        expect="accept", format="wav", warnings=[])
    put("bogus_header.wav", _bogus_wav(), "RIFF/WAVE with a nonsense fmt chunk", **reject(code="undecodable"))
    put("header_only.wav", _wav_bytes(b"", 16000), "valid header, no samples", **reject(code="undecodable"))
    # ffmpeg trusts the file size over a WAV header, as it should: a recorder that crashed
    # leaves exactly this. The real 10-hour upload is generated at test time.
    put("header_claims_10_hours.wav", _wav_claiming(36000, speech[:32000], 16000),
        "header declares 10 hours, holds 1 s", expect="accept", format="wav", warnings=[])
    left = speechlike(16000, "ssss_sss")
    inverted = struct.pack(f"<{len(left) // 2}h", *(-min(32767, s) for s in struct.unpack(f"<{len(left) // 2}h", left)))
    stereo = b"".join(left[i:i + 2] + inverted[i:i + 2] for i in range(0, len(left), 2))
    put("stereo_cancels_out.wav", _wav_bytes(stereo, 16000, channels=2),
        "left = -right: the mono downmix is silence", **reject(code="silent"))
    quiet = speechlike(16000, "ssss_sss|ssss", level_db=-50)
    put("too_quiet.wav", _wav_bytes(quiet, 16000), "speech recorded 30 dB too softly",
        expect="accept", format="wav", warnings=["too_quiet"])
    blip = silence_pcm(1, 16000) + speechlike(16000, "s")[:2400] + silence_pcm(1, 16000)
    put("blip.wav", _wav_bytes(blip, 16000), "0.15 s of sound in 2 s", **reject(code="too_short"))

    # Phone and messenger formats.
    put_encoded("speech.amr", speechlike(8000, "ssss_sss|ssss"), 8000, ["-c:a", "libopencore_amrnb", "-ar", "8000",
                "-b:a", "12.2k"], "AMR-NB voice memo", expect="accept", format="amr", warnings=["low_sample_rate"])
    put("wechat_voice.amr", _silk(speechlike(24000, "ssss_sss|ssss"), tencent=True),
        "WeChat SILK v3 (0x02 prefix) named .amr", expect="accept", format="silk", warnings=[])
    put("plain.silk", _silk(speechlike(24000, "ssss_sss"), tencent=False), "standard SILK v3",
        expect="accept", format="silk", warnings=[])
    put("silk_damaged.amr", b"\x02#!SILK_V3" + bytes(rng.randrange(256) for _ in range(600)),
        "SILK header then junk", **reject(code="undecodable"))
    put("amr_header_only.amr", b"#!AMR\n", "AMR magic and nothing else", **reject(code="undecodable"))
    put_encoded("speech_opus.ogg", speech, 16000, ["-c:a", "libopus", "-b:a", "16k"], "Ogg Opus",
                expect="accept", format="opus", warnings=[])
    put_encoded("speech_vorbis.ogg", speech, 16000, ["-c:a", "libvorbis", "-q:a", "0"], "Ogg Vorbis",
                expect="accept", format="vorbis", warnings=[])
    put("ogg_junk.ogg", b"OggS\x00\x02" + bytes(rng.randrange(256) for _ in range(800)),
        "Ogg capture pattern then junk", **reject(code="undecodable"))
    put_encoded("speech.m4a", speech, 16000, ["-c:a", "aac", "-b:a", "24k"], "AAC in M4A (iPhone voice memo)",
                expect="accept", format="m4a", warnings=[])
    with open(os.path.join(out, "speech.m4a"), "rb") as fh:
        m4a = fh.read()
    put("m4a_cut_short.m4a", m4a[:600], "M4A cut before its index (moov)", **reject(code="undecodable"))
    run_ffmpeg("-f", "lavfi", "-i", "color=c=blue:s=16x16:d=1:r=5", "-c:v", "mpeg4",
               "-movflags", "+faststart", "-map_metadata", "-1", os.path.join(out, "video_no_sound.mp4"))
    manifest["video_no_sound.mp4"] = {"why": "a video with no sound track", **reject(code="undecodable")}
    put_encoded("browser_recording.webm", speech, 16000, ["-c:a", "libopus", "-b:a", "16k", "-f", "webm"],
                "what Chrome/Firefox MediaRecorder uploads", expect="accept", format="webm", warnings=[])
    put_encoded("speech.flac", speechlike(16000, "sss_ss"), 16000, ["-c:a", "flac"], "FLAC",
                expect="accept", format="flac", warnings=[])
    os.replace(os.path.join(out, "speech.flac"), os.path.join(out, "flac_named.mp3"))
    manifest["flac_named.mp3"] = manifest.pop("speech.flac") | {"why": "FLAC named .mp3"}
    put_encoded("speech_adts.aac", speech, 16000, ["-c:a", "aac", "-b:a", "24k", "-f", "adts"],
                "raw AAC (ADTS)", expect="accept", format="aac", warnings=[])
    gappy = speechlike(16000, "ss" + "." * 6 + "ss")
    put("mostly_silence.mp3", mp3_bytes(gappy, 16000), "two words 6 s apart",
        expect="accept", format="mp3", warnings=["mostly_silence"])

    with open(os.path.join(out, "MANIFEST.json"), "w", encoding="utf-8") as fh:
        json.dump(manifest, fh, ensure_ascii=False, indent=1, sort_keys=True)
        fh.write("\n")
    return manifest


def _wav_bytes(pcm, rate, channels=1):
    buf = io.BytesIO()
    write_wav(buf, pcm, rate, channels=channels)
    return buf.getvalue()


def _silk(pcm, tencent):
    import pysilk

    out = io.BytesIO()
    pysilk.encode(io.BytesIO(pcm), out, 24000, 20000, tencent=tencent)
    return out.getvalue()


if __name__ == "__main__":
    target = sys.argv[1] if len(sys.argv) > 1 else CORPUS
    made = build(target)
    total = sum(os.path.getsize(os.path.join(target, n)) for n in made)
    print(f"{len(made)} files, {total / 1024:.0f} KB")
