"""Import and export screens: upload → preview and mapping → import in the background → report.

Uploads are stored under ``UPLOAD_DIR`` with generated names (never the user's file name) and
deleted when rejected, cancelled, imported, or left unconfirmed for a day. The import itself runs
in a thread with its own connection; the report page polls :func:`progress` (static/imports.js).
"""
from __future__ import annotations

import os
import re
import secrets
import threading
import time

from flask import (Blueprint, Response, abort, current_app, flash, redirect, render_template, request, session,
                   url_for)
from flask_babel import force_locale, get_locale, gettext as _
from flask_login import current_user

from .. import audit
from ..accounts.users import ADMIN, SECRETARY
from ..db import connect, get_db
from ..security import client_ip, current_scope, roles_required
from . import exporter, importer, places
from .import_columns import FIELDS, RowError, check_mapping, guess_mapping, mapping_warnings, parse_row
from .tabular import TabularError
from ..security import village_or_404 as _village_or_404

bp = Blueprint("imports", __name__)
PENDING = "pending_imports"  # session key: upload token -> {village_id, filename}
MAX_PENDING = 5
STALE_UPLOAD_S = 24 * 3600
PREVIEW_ROWS = 10
_threads: dict[int, threading.Thread] = {}


def _upload_path(token: str) -> str:
    return os.path.join(current_app.config["UPLOAD_DIR"], f"import-{token}.upload")


def _remove(path: str) -> None:
    try:
        os.remove(path)
    except FileNotFoundError:
        pass


def _sweep_stale_uploads() -> None:
    """Uploads never confirmed are deleted after a day."""
    folder = current_app.config["UPLOAD_DIR"]
    cutoff = time.time() - STALE_UPLOAD_S
    for name in os.listdir(folder):
        path = os.path.join(folder, name)
        if name.startswith("import-") and os.path.getmtime(path) < cutoff:
            _remove(path)




def _job_or_404(import_id: int) -> dict:
    job = importer.get_import(get_db(), import_id)
    if job is None or not current_scope().allows_village(job["village_id"]):
        abort(404)
    return job


def _int(value) -> int | None:
    value = (value or "").strip()
    return int(value) if value.isdigit() and len(value) < 10 else None


def _safe_filename(name: str) -> str:
    """The user's file name, for display and the audit log only."""
    name = os.path.basename((name or "").replace("\\", "/"))
    return re.sub(r"[\x00-\x1f\x7f]", "", name)[:120] or "upload"


@bp.route("/imports/new", methods=["GET", "POST"])
@roles_required(ADMIN, SECRETARY)
def new():
    db = get_db()
    scope = current_scope()
    villages = places.villages(db, scope.village_list())
    selected = _int(request.values.get("village_id"))
    if request.method == "POST":
        village = _village_or_404(selected)
        upload = request.files.get("file")
        if upload is None or not upload.filename:
            flash(_("Choose a file to upload."), "error")
            return _new_page(villages, selected), 400
        _sweep_stale_uploads()
        token = secrets.token_urlsafe(16)
        path = _upload_path(token)
        upload.save(path)
        try:
            table = importer.read(path)
        except TabularError as exc:
            _remove(path)
            flash(exc.translated(_), "error")
            return _new_page(villages, selected), 400
        pending = dict(session.get(PENDING) or {})
        for old in list(pending)[:-(MAX_PENDING - 1)] if len(pending) >= MAX_PENDING else []:
            _remove(_upload_path(old))
            pending.pop(old)
        pending[token] = {"village_id": village["id"], "filename": _safe_filename(upload.filename),
                          "mapping": guess_mapping(table.header)}
        session[PENDING] = pending
        return redirect(url_for("imports.preview", token=token))
    return _new_page(villages, selected)


def _new_page(villages, selected):
    return render_template("imports/new.html", villages=villages, selected=selected,
                           recent=importer.recent_imports(get_db(), current_scope().village_list()))


def _pending_or_404(token: str) -> dict:
    pending = (session.get(PENDING) or {}).get(token)
    if not pending or not re.fullmatch(r"[A-Za-z0-9_-]{10,40}", token) or not os.path.exists(_upload_path(token)):
        abort(404)
    _village_or_404(pending["village_id"])
    return pending


def _drop_pending(token: str) -> None:
    pending = dict(session.get(PENDING) or {})
    pending.pop(token, None)
    session[PENDING] = pending


@bp.route("/imports/preview/<token>", methods=["GET", "POST"])
@roles_required(ADMIN, SECRETARY)
def preview(token):
    pending = _pending_or_404(token)
    village = _village_or_404(pending["village_id"])
    path = _upload_path(token)
    try:
        table = importer.read(path)
    except TabularError as exc:  # cannot happen for a file that passed upload, unless it was replaced
        _remove(path)
        _drop_pending(token)
        flash(exc.translated(_), "error")
        return redirect(url_for("imports.new", village_id=village["id"]))
    mapping = list(pending["mapping"])
    mapping += [""] * (len(table.header) - len(mapping))
    action = request.form.get("action", "")
    if request.method == "POST":
        if action == "cancel":
            _remove(path)
            _drop_pending(token)
            flash(_("Import cancelled; the file was deleted."))
            return redirect(url_for("imports.new", village_id=village["id"]))
        mapping = [request.form.get(f"col{i}", "") for i in range(len(table.header))]
        mapping = [m if m in FIELDS else "" for m in mapping]
        session[PENDING] = dict(session.get(PENDING) or {}, **{token: dict(pending, mapping=mapping)})
        problems = check_mapping(mapping)
        if action == "start" and not problems:
            return _start(village, pending, table, mapping, path, token)
        for message, params in problems:
            flash(_(message) % {k: _(v) for k, v in params.items()}, "error")
    return _preview_page(village, pending, table, mapping)


def _preview_page(village, pending, table, mapping):
    header = [h or _("Column %(n)s", n=i + 1) for i, h in enumerate(table.header)]
    samples = [[cells[i] for _n, cells in table.rows[:50] if i < len(cells) and cells[i]][:3]
               for i in range(len(header))]
    checked = []
    for number, cells in table.rows[:PREVIEW_ROWS]:
        try:
            parsed = parse_row(cells, mapping, default_language=village["default_language"])
            note = _("no phone: will be tagged “No working phone”") if parsed.auto_no_phone else ""
            checked.append((number, cells, "", note))
        except RowError as exc:
            checked.append((number, cells, exc.translated(_), ""))
    warnings = [_(m) % p for m, p in mapping_warnings(table.header, mapping)]
    fields = [(key, _(label)) for key, (label, _multi) in FIELDS.items()]
    delimiter_name = {",": _("comma"), "\t": _("tab"), ";": _("semicolon")}.get(table.delimiter, "")
    return render_template("imports/preview.html", village=village, pending=pending, table=table, header=header,
                           mapping=mapping, samples=samples, rows=checked, warnings=warnings, fields=fields,
                           delimiter_name=delimiter_name,
                           width=max([len(header)] + [len(c) for _n, c, _r, _w in checked]))


def _start(village, pending, table, mapping, path, token):
    db = get_db()
    import_id = importer.create_import(db, village["id"], table, mapping, user_id=current_user.id,
                                       filename=pending["filename"])
    audit.record(db, "import_started", user=current_user.row, object_type="import", object_id=import_id,
                 village_id=village["id"], ip=client_ip(), filename=pending["filename"], rows=table.total)
    _drop_pending(token)
    app = current_app._get_current_object()
    thread = threading.Thread(target=_run, name=f"import-{import_id}", daemon=True,
                              args=(app, import_id, table, str(get_locale() or "zh"), dict(current_user.row),
                                    village["id"], path, client_ip()))
    _threads[import_id] = thread
    thread.start()
    return redirect(url_for("imports.show", import_id=import_id))


def _run(app, import_id, table, locale, user, village_id, path, ip):
    """The background import: its own connection, reasons in the importing user's language."""
    db = connect(app.config["DATABASE"])
    try:
        with app.app_context(), force_locale(locale):
            try:
                counts = importer.run_import(db, import_id, table, gettext=_)
                audit.record(db, "import_finished", user=user, object_type="import", object_id=import_id,
                             village_id=village_id, ip=ip, **counts)
            except Exception:
                app.logger.exception("import %s failed", import_id)
                audit.record(db, "import_failed", user=user, object_type="import", object_id=import_id,
                             village_id=village_id, ip=ip)
    finally:
        db.close()
        _remove(path)
        _threads.pop(import_id, None)


def wait(import_id: int, timeout: float = 30.0) -> None:
    """Block until a background import of this process ends (tests and the CLI)."""
    thread = _threads.get(import_id)
    if thread is not None:
        thread.join(timeout)


@bp.route("/imports/<int:import_id>")
@roles_required(ADMIN, SECRETARY)
def show(import_id):
    job = _job_or_404(import_id)
    village = places.village(get_db(), job["village_id"])
    return render_template("imports/show.html", job=job, village=village,
                           errors=importer.errors(get_db(), import_id, limit=1000))


@bp.route("/imports/<int:import_id>/progress")
@roles_required(ADMIN, SECRETARY)
def progress(import_id):
    job = _job_or_404(import_id)
    return {"status": job["status"], "total": job["total_rows"], "processed": job["processed_rows"],
            "created": job["created_rows"], "updated": job["updated_rows"], "errors": job["error_rows"],
            "running": job["status"] == importer.RUNNING}


def _format_or_400() -> str:
    fmt = request.args.get("format", exporter.CSV)
    if fmt not in exporter.FORMATS:
        abort(400)
    return fmt


def _download(fmt: str, data: bytes, stem: str) -> Response:
    ascii_name = f"{stem}.{fmt}"
    return Response(data, mimetype=exporter.FORMATS[fmt], headers={
        "Content-Disposition": f"attachment; filename={ascii_name}", "Cache-Control": "no-store"})


@bp.route("/imports/<int:import_id>/errors")
@roles_required(ADMIN, SECRETARY)
def errors_download(import_id):
    job = _job_or_404(import_id)
    fmt = _format_or_400()
    found = importer.errors(get_db(), import_id)
    header, rows = exporter.errors_table(job["meta"].get("header", []), found, gettext=_)
    audit.record(get_db(), "import_errors_downloaded", user=current_user.row, object_type="import",
                 object_id=import_id, village_id=job["village_id"], ip=client_ip(), rows=len(rows), format=fmt)
    return _download(fmt, exporter.write(fmt, header, rows, sheet_title=_("Rows to fix")),
                     f"import-{import_id}-errors")


@bp.route("/residents/export")
@roles_required(ADMIN, SECRETARY)
def export_residents():
    village = _village_or_404(_int(request.args.get("village_id")))
    fmt = _format_or_400()
    header, rows = exporter.residents_table(get_db(), village["id"], gettext=_)
    audit.record(get_db(), "residents_exported", user=current_user.row, object_type="village",
                 object_id=village["id"], village_id=village["id"], ip=client_ip(), rows=len(rows), format=fmt)
    return _download(fmt, exporter.write(fmt, header, rows, sheet_title=village["name"]),
                     f"residents-{village['id']}-{time.strftime('%Y%m%d')}")


def init_app(app):
    app.register_blueprint(bp)
