"""Portable unit (宣传车, a loudspeaker without network): a bundle to carry, plays confirmed by SMS.

Nothing can be played remotely, so ``play()`` always answers "manual" and the play stays open
until the operator confirms it::

    worker: play() ─▶ failed "manual" (not retryable) ─▶ play log waits for confirmation
    operator: downloads the bundle (build_bundle), plays item 17 from the van
    operator: SMS "PLAYED 17" (or "已播 17", or ticks it on a page) ─▶ parse_played_sms ─▶ [17]
    worker/web: marks play 17 played (the lead's code, with who and when)

The bundle is a zip: ``audio/01-17.mp3`` … in playing order (ASCII names: a van's USB player
shows them), ``playlist.m3u`` (UTF-8 extended M3U), and a printable day sheet in Chinese,
``day-sheet.html`` and ``day-sheet.csv`` (UTF-8 with BOM so Excel shows the Chinese).
"""
from __future__ import annotations

import csv
import html
import io
import os
import re
import tempfile
import unicodedata
import zipfile
from datetime import date, datetime, time
from typing import Callable, Iterable, NamedTuple

from . import mp3frames
from .base import REASON_MANUAL, PlayResult, check_config, check_play_args, config_str

KIND = "portable"
MAX_IDS_PER_SMS = 50  # more numbers than any day's plays: a pasted list, not a confirmation


class BundleItem(NamedTuple):
    play_id: int  # the play-log id the operator quotes back ("PLAYED 17")
    title: str  # the notice's title, shown on the day sheet
    audio_path: str  # the loudspeaker rendition (MP3)
    planned_local_time: datetime | time | str  # in the village's time zone


class PortableOutput:
    kind = KIND
    rendition = "loudspeaker"

    def __init__(self, name: str | None = None):
        self.name = name

    @classmethod
    def from_config(cls, config) -> "PortableOutput":
        cfg = check_config(KIND, config, optional=("name",))
        return cls(config_str(KIND, cfg, "name"))

    def describe(self) -> str:
        label = f" {self.name}" if self.name else ""
        return f"portable unit{label} (offline bundle, plays confirmed by SMS or page)"

    def play(self, audio_path: str, *, expected_s: float, timeout_s: float,
             on_started: Callable[[], None]) -> PlayResult:
        check_play_args(expected_s, timeout_s)
        # Never "started": only the operator's confirmation says it played.
        return PlayResult.failed(REASON_MANUAL, "manual", retryable=False, expected_s=expected_s)


def confirm_text(play_id: int) -> str:
    return f"播放后发短信 PLAYED {play_id} 确认"


def _clock(value) -> tuple[str, date | None]:
    """("07:00", its date or None) for the day sheet."""
    if isinstance(value, datetime):
        return value.strftime("%H:%M"), value.date()
    if isinstance(value, time):
        return value.strftime("%H:%M"), None
    if isinstance(value, str) and value.strip():
        return value.strip(), None
    raise ValueError(f"planned_local_time must be a datetime, time or text, got {value!r}")


def _mmss(seconds: float | None) -> str:
    if seconds is None:
        return ""
    total = int(round(seconds))
    return f"{total // 60}:{total % 60:02d}"


def _rows(items: Iterable) -> list[dict]:
    rows, seen = [], set()
    for raw in items:
        item = BundleItem(*raw)
        if isinstance(item.play_id, bool) or not isinstance(item.play_id, int) or item.play_id <= 0:
            raise ValueError(f"play_id must be a positive integer, got {item.play_id!r}")
        if item.play_id in seen:
            raise ValueError(f"play {item.play_id} is in the bundle twice")
        seen.add(item.play_id)
        if not os.path.isfile(item.audio_path):
            raise ValueError(f"audio for play {item.play_id} not found: {item.audio_path}")
        clock, day = _clock(item.planned_local_time)
        with open(item.audio_path, "rb") as f:
            seconds = mp3frames.duration_s(f.read())
        rows.append({"item": item, "clock": clock, "day": day, "seconds": seconds or None})
    if not rows:
        raise ValueError("a bundle needs at least one play")
    rows.sort(key=lambda r: (r["day"] or date.min, r["clock"], r["item"].play_id))  # playing order
    for n, row in enumerate(rows, 1):
        row["order"] = n
        row["file"] = f"audio/{n:02d}-{row['item'].play_id}.mp3"
    return rows


def build_bundle(out_zip_path: str, items: Iterable, *, heading: str = "",
                 sms_number: str | None = None) -> list[str]:
    """Write the zip for a day's plays; return the names inside it.

    ``items`` are (play_id, title, audio_path, planned_local_time) tuples or BundleItems. The zip is
    written to a temporary file and renamed, so a half-written bundle is never downloaded.
    """
    rows = _rows(items)
    days = sorted({r["day"] for r in rows if r["day"]})
    when = "、".join(d.strftime("%Y年%m月%d日") for d in days)
    title = " ".join(x for x in (heading, when, "播放单") if x)
    send_to = f"到 {sms_number} " if sms_number else ""
    how = (f"每条播放完后，发短信 PLAYED 编号 {send_to}确认（例如 PLAYED {rows[0]['item'].play_id}）；"
           f"也可以回复“已播 编号”。一条短信可确认多条，如 PLAYED 17 18。")
    out_dir = os.path.dirname(os.path.abspath(out_zip_path))
    fd, tmp = tempfile.mkstemp(prefix=".bundle-", suffix=".zip", dir=out_dir)
    os.close(fd)
    try:
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            for row in rows:  # MP3 does not compress: store it
                zf.write(row["item"].audio_path, row["file"], compress_type=zipfile.ZIP_STORED)
            zf.writestr("playlist.m3u", _m3u(rows))
            zf.writestr("day-sheet.html", _html(rows, title, how))
            zf.writestr("day-sheet.csv", _csv(rows))
            names = zf.namelist()
        os.replace(tmp, out_zip_path)
    except BaseException:
        os.unlink(tmp)
        raise
    return names


def _m3u(rows: list[dict]) -> str:
    lines = ["#EXTM3U"]
    for r in rows:
        seconds = int(round(r["seconds"])) if r["seconds"] else -1
        lines.append(f"#EXTINF:{seconds},{r['clock']} 编号{r['item'].play_id} {r['item'].title}")
        lines.append(r["file"])
    return "\n".join(lines) + "\n"


_CSV_HEAD = ["顺序", "播放编号", "计划时间", "标题", "文件", "时长", "确认方式", "实际播放时间", "播放人签名"]


def _csv(rows: list[dict]) -> bytes:
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(_CSV_HEAD)
    for r in rows:
        writer.writerow([r["order"], r["item"].play_id, r["clock"], _csv_safe(r["item"].title),
                         r["file"], _mmss(r["seconds"]), confirm_text(r["item"].play_id), "", ""])
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


def _csv_safe(text: str) -> str:
    # A title starting with = + - @ would run as a formula when the sheet is opened in Excel.
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text


def _html(rows: list[dict], title: str, how: str) -> str:
    e = html.escape
    body = "\n".join(
        f"<tr><td>{r['order']}</td><td class=id>{r['item'].play_id}</td><td>{e(r['clock'])}</td>"
        f"<td>{e(r['item'].title)}</td><td>{e(_mmss(r['seconds']))}</td><td>{e(r['file'])}</td>"
        f"<td>{e(confirm_text(r['item'].play_id))}</td><td></td><td></td></tr>" for r in rows)
    head = "".join(f"<th>{e(h)}</th>" for h in _CSV_HEAD[:4] + ["时长", "文件", "确认方式",
                                                                "实际播放时间", "签名"])
    return f"""<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>{e(title)}</title>
<style>body{{font-family:sans-serif;margin:1.5em}}table{{border-collapse:collapse;width:100%}}
th,td{{border:1px solid #333;padding:.4em;text-align:left}}td.id{{font-size:1.3em;font-weight:bold}}
@media print{{body{{margin:0}}}}</style></head>
<body><h1>{e(title)}</h1><p>{e(how)}</p>
<table><thead><tr>{head}</tr></thead><tbody>
{body}
</tbody></table></body></html>
"""


# --- confirmation by SMS -------------------------------------------------------------------

# "PLAYED 17", "played 17 18", "已播 17", "已播放17", "已经播放 17、18", "播完了 17", "PLAYED #17".
_KEYWORD = r"(?:played|已经?播放?(?:完毕|完成|了)?|播放?了|播完了?)"
_IDS = r"#?\d{1,9}(?:\s*(?:[,;/&+、]|和|and)?\s*#?\d{1,9})*"
_PLAYED = re.compile(rf"^{_KEYWORD}\s*[:#]?\s*(?P<ids>{_IDS})\s*[.!。！]*$", re.IGNORECASE)


def parse_played_sms(body: str) -> list[int] | None:
    """Play ids an operator confirms in an SMS, in the order written; None if it is not one.

    Strict on purpose: a text that is not clearly a confirmation ("PLAYED" with no number,
    "17" alone, "PLAYED 17 but the van broke down") returns None, so the reply can ask again
    rather than mark an unplayed notice as played.
    """
    if not isinstance(body, str):
        return None
    # NFKC: full-width digits, letters and punctuation from Chinese keyboards become ASCII.
    text = unicodedata.normalize("NFKC", body).strip()
    m = _PLAYED.match(text)
    if not m:
        return None
    ids: list[int] = []
    for digits in re.findall(r"\d+", m.group("ids")):
        n = int(digits)
        if n > 0 and n not in ids:
            ids.append(n)
    if not ids or len(ids) > MAX_IDS_PER_SMS:
        return None
    return ids
