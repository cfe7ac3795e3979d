"""Villages, grids and residents screens. Thin: parse the request, call the domain, render."""
from __future__ import annotations

import sqlite3

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.datastructures import MultiDict

from .. import audit
from ..accounts.users import ADMIN, GRID_WORKER, SECRETARY
from ..db import get_db, rows, write
from ..i18n import error_text
from ..params import int_arg, page_arg
from ..security import client_ip, current_scope, roles_required
from . import phones, places, residents
from .forms import parse_resident_form
from .search import ResidentQuery, search
from ..security import resident_or_404 as _resident_or_404, village_or_404 as _village_or_404

bp = Blueprint("registry", __name__)
PEOPLE_ROLES = (ADMIN, SECRETARY, GRID_WORKER)






@bp.route("/villages")
def villages():
    return render_template("registry/villages.html",
                           villages=places.villages(get_db(), current_scope().village_list()))


@bp.route("/villages/<int:village_id>")
def village(village_id):
    village = _village_or_404(village_id)
    db = get_db()
    scope = current_scope()
    caretakers = rows(db, """SELECT c.name, c.kind, c.phone, c.role_note,
                             (SELECT COUNT(*) FROM caretaker_assignments a WHERE a.caretaker_id = c.id) AS assigned
                             FROM caretakers c WHERE c.village_id = ? ORDER BY c.kind, c.name""", [village_id]) \
        if scope.sees_people else []
    return render_template("registry/village.html", village=village, caretakers=caretakers,
                           grids=places.grids(db, village_id, scope.grid_list()))


@bp.route("/residents", endpoint="residents")
@roles_required(*PEOPLE_ROLES)
def residents_list():
    scope = current_scope()
    db = get_db()
    village_id = int_arg("village_id")
    if village_id and not scope.allows_village(village_id):
        abort(404)
    query = ResidentQuery(
        village_ids=scope.village_list(), grid_ids=scope.grid_list(), text=request.args.get("q", "")[:50],
        village_id=village_id, grid_id=int_arg("grid_id"), min_age=int_arg("min_age"),
        tags=[t for t in request.args.getlist("tag") if t][:5], language=request.args.get("language", "")[:30],
        page=page_arg())
    found, total = search(db, query)
    visible = places.villages(db, scope.village_list())
    filter_village = village_id or (visible[0]["id"] if len(visible) == 1 else None)
    grid_options = places.grids(db, filter_village, scope.grid_list()) if filter_village else []
    languages = places.languages(db, filter_village) if filter_village else ["mandarin"]
    return render_template("registry/residents.html", residents=found, total=total, query=query,
                           villages=visible, grids=grid_options, languages=languages, display=phones.display)


@bp.route("/residents/<int:resident_id>")
@roles_required(*PEOPLE_ROLES)
def resident(resident_id):
    from ..reach.history import for_resident

    resident = _resident_or_404(resident_id)
    return render_template("registry/resident.html", r=resident, display=phones.display,
                           history=for_resident(get_db(), resident_id))


def _resident_form(village: dict, form: MultiDict, resident_id: int | None):
    return render_template("registry/resident_form.html", village=village, form=form, resident_id=resident_id,
                           known_tags=residents.KNOWN_TAGS, grids=places.grids(get_db(), village["id"]),
                           languages=places.languages(get_db(), village["id"]))


def _save(village: dict, resident_id: int | None):
    db = get_db()
    try:
        data = parse_resident_form(request.form)
        with write(db):
            if resident_id is None:
                saved_id, created = residents.upsert(db, village["id"], data, allow_update=False)
            else:
                residents.update(db, resident_id, village["id"], data)
                saved_id, created = resident_id, False
            audit.record(db, "resident_created" if created else "resident_updated", user=current_user.row,
                         object_type="resident", object_id=saved_id, village_id=village["id"], ip=client_ip())
    except (ValueError, sqlite3.IntegrityError) as exc:
        flash(_("Not saved: %(reason)s", reason=error_text(exc)), "error")
        return _resident_form(village, request.form, resident_id), 400
    flash(_("Saved."))
    return redirect(url_for("registry.resident", resident_id=saved_id))


@bp.route("/villages/<int:village_id>/residents/new", methods=["GET", "POST"])
@roles_required(ADMIN, SECRETARY)
def resident_new(village_id):
    village = _village_or_404(village_id)
    if request.method == "POST":
        return _save(village, None)
    return _resident_form(village, MultiDict(), None)


@bp.route("/residents/<int:resident_id>/edit", methods=["GET", "POST"])
@roles_required(ADMIN, SECRETARY)
def resident_edit(resident_id):
    r = _resident_or_404(resident_id)
    village = _village_or_404(r["village_id"])
    if request.method == "POST":
        return _save(village, resident_id)
    form = MultiDict({
        "name": r["name"], "phones": " ".join(phones.display(p["e164"]) for p in r["phones"]),
        "grid_name": r["grid_name"] or "", "house_number": r["house_number"] or "", "address": r["address"] or "",
        "birth_year": r["birth_year"] or "", "sex": r["sex"] or "", "language": r["language"],
        "free_tags": " ".join(t for t in r["tags"] if t not in residents.KNOWN_TAGS),
        "lives_elsewhere": "1" if r["lives_elsewhere"] else "", "relation": r["relation"], "notes": r["notes"]})
    form.setlist("tags", [t for t in r["tags"] if t in residents.KNOWN_TAGS])
    return _resident_form(village, form, resident_id)


def init_app(app):
    app.register_blueprint(bp)
