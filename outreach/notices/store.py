"""Notices, their SMS text per language and their audio. Writes commit when ``write()`` ends.

Audio files live under the media folder in one sub-folder per asset with generated names;
the database keeps paths relative to that folder so an instance can be moved.
"""
from __future__ import annotations

import json
import os
import secrets
import shutil
import uuid

from ..db import one, rows, scalar, write
from ..errors import N_, UserError
from . import sms_text

DRAFT = "draft"        # being prepared; not offered to campaigns
READY = "ready"        # can be sent and broadcast
ARCHIVED = "archived"  # kept for the record, hidden from pickers
STATUSES = (DRAFT, READY, ARCHIVED)
MAX_TITLE = 100
MAX_TEXT = 2000


def _check(title: str, text: str) -> tuple[str, str]:
    title, text = (title or "").strip(), (text or "").strip()
    if not title:
        raise UserError(N_("title is required"))
    if len(title) > MAX_TITLE:
        raise UserError(N_("title is longer than %(max)s characters"), max=MAX_TITLE)
    if len(text) > MAX_TEXT:
        raise UserError(N_("text is longer than %(max)s characters"), max=MAX_TEXT)
    return title, text


def create(db, village_id: int, title: str, text: str = "", *, user_id: int | None = None) -> int:
    title, text = _check(title, text)
    with write(db):
        return db.execute("INSERT INTO notices (village_id, title, text, created_by) VALUES (?, ?, ?, ?)",
                          [village_id, title, text, user_id]).lastrowid


def update(db, notice_id: int, *, title: str, text: str, status: str, append_reply_hint: bool) -> None:
    title, text = _check(title, text)
    if status not in STATUSES:
        raise ValueError(f"unknown status {status!r}")
    with write(db):
        db.execute("""UPDATE notices SET title = ?, text = ?, status = ?, append_reply_hint = ?,
                      updated_at = strftime('%Y-%m-%dT%H:%M:%SZ','now') WHERE id = ?""",
                   [title, text, status, int(append_reply_hint), notice_id])


def set_sms_text(db, notice_id: int, language: str, template: str) -> None:
    """Store the SMS script for a language; ValueError for unknown placeholders or overlong text."""
    template = (template or "").strip()
    sms_text.placeholders_in(template)  # raises on unknown placeholders
    if len(template) > 1000:
        raise UserError(N_("SMS text is longer than %(max)s characters"), max=1000)
    language = (language or "").strip()[:30]
    if not language:
        raise UserError(N_("language is required"))
    with write(db):
        db.execute("""INSERT INTO notice_variants (notice_id, language, sms_text) VALUES (?, ?, ?)
                      ON CONFLICT (notice_id, language) DO UPDATE SET sms_text = excluded.sms_text""",
                   [notice_id, language, template])


def get(db, notice_id: int) -> dict | None:
    notice = one(db, "SELECT n.*, v.name AS village_name FROM notices n JOIN villages v ON v.id = n.village_id "
                     "WHERE n.id = ?", [notice_id])
    if notice is None:
        return None
    notice["variants"] = {r["language"]: r["sms_text"] for r in rows(
        db, "SELECT language, sms_text FROM notice_variants WHERE notice_id = ? ORDER BY language", [notice_id])}
    notice["audio"] = current_audio(db, notice_id)
    return notice


def for_village(db, village_ids: list[int] | None, *, include_archived: bool = False) -> list[dict]:
    clauses, params = [], []
    if village_ids is not None:
        clauses.append(f"n.village_id IN ({','.join('?' * len(village_ids)) or 'NULL'})")
        params += village_ids
    if not include_archived:
        clauses.append("n.status != 'archived'")
    where = (" WHERE " + " AND ".join(clauses)) if clauses else ""
    return rows(db, f"""SELECT n.id, n.title, n.status, n.updated_at, v.name AS village_name,
                        (SELECT group_concat(language, ',') FROM audio_assets a
                         WHERE a.notice_id = n.id AND a.current = 1) AS audio_languages
                        FROM notices n JOIN villages v ON v.id = n.village_id{where}
                        ORDER BY n.updated_at DESC""", params)


# ---- audio ------------------------------------------------------------------------

def current_audio(db, notice_id: int) -> dict:
    """language → the current asset (with its renditions), newest first per language."""
    assets = rows(db, "SELECT * FROM audio_assets WHERE notice_id = ? AND current = 1 ORDER BY language",
                  [notice_id])
    for asset in assets:
        asset["warnings"] = json.loads(asset["warnings"])
        asset["renditions"] = {r["name"]: r for r in rows(
            db, "SELECT * FROM audio_renditions WHERE asset_id = ?", [asset["id"]])}
    return {a["language"]: a for a in assets}


def new_asset_folder(media_dir: str) -> tuple[str, str]:
    """A fresh, generated sub-folder for one asset: (relative, absolute)."""
    relative = uuid.uuid4().hex
    absolute = os.path.join(media_dir, relative)
    os.makedirs(absolute)
    return relative, absolute


def add_audio(db, media_dir: str, notice_id: int, language: str, origin: str, folder: str, original: str,
              processed, *, uploaded_name: str = "", chime: bool = False, repeat: int = 1,
              user_id: int | None = None) -> int:
    """Record processed audio (``audio.process.ProcessedAudio``) as the language's current audio.

    The previous asset of that language stays on disk and in the table, marked not current.
    """
    notice = one(db, "SELECT village_id FROM notices WHERE id = ?", [notice_id])
    if notice is None:
        raise ValueError("no such notice")
    base = os.path.join(media_dir, folder)

    def rel(path: str) -> str:
        return os.path.relpath(path, base)

    with write(db):
        db.execute("UPDATE audio_assets SET current = 0 WHERE notice_id = ? AND language = ?", [notice_id, language])
        asset_id = db.execute("""
            INSERT INTO audio_assets (notice_id, village_id, language, origin, folder, original_file, original_format,
                uploaded_name, duration_s, sample_rate, lufs, true_peak_db, warnings, chime, repeat, public_token,
                created_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
            [notice_id, notice["village_id"], language, origin, folder, rel(original), processed.source_format,
             uploaded_name[:200], processed.duration_s, processed.sample_rate, processed.lufs,
             processed.true_peak_db, json.dumps(processed.warnings), int(chime), repeat,
             secrets.token_urlsafe(32), user_id]).lastrowid
        files = [("original", original, os.path.getsize(original), processed.source_duration_s or None),
                 ("master", processed.master_path, os.path.getsize(processed.master_path), processed.duration_s)]
        files += [(name, r.path, r.size_bytes, r.duration_s) for name, r in processed.renditions.items()]
        db.conn.executemany("INSERT INTO audio_renditions (asset_id, name, file, size_bytes, duration_s) "
                            "VALUES (?, ?, ?, ?, ?)", [(asset_id, n, rel(p), s, d) for n, p, s, d in files])
        return asset_id


def discard_folder(media_dir: str, folder: str) -> None:
    """Remove an asset folder that never made it into the database (a rejected upload)."""
    path = os.path.join(media_dir, folder)
    if folder and os.path.isdir(path) and os.path.dirname(os.path.abspath(path)) == os.path.abspath(media_dir):
        shutil.rmtree(path, ignore_errors=True)


def rendition_path(db, media_dir: str, asset_id: int, name: str) -> tuple[dict, str] | None:
    found = one(db, """SELECT a.id, a.notice_id, a.village_id, a.folder, r.file FROM audio_assets a
                       JOIN audio_renditions r ON r.asset_id = a.id WHERE a.id = ? AND r.name = ?""", [asset_id, name])
    if found is None:
        return None
    return found, os.path.join(media_dir, found["folder"], found["file"])


def asset_by_token(db, token: str) -> dict | None:
    return one(db, "SELECT * FROM audio_assets WHERE public_token = ?", [token])


def notice_count(db, village_id: int) -> int:
    return scalar(db, "SELECT COUNT(*) FROM notices WHERE village_id = ?", [village_id])
