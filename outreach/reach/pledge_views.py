"""Pledge screens: the ledger with totals, verification, links for the public form, the public form
itself (no login, CSRF on), and a grid worker recording a pledge at the door."""
from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ..accounts.users import ADMIN, GRID_WORKER, SECRETARY
from ..db import get_db, one, rows
from ..delivery import outbox
from ..security import client_ip, current_scope, public, roles_required
from . import labels, pledges, stats
from .state import in_list
from .views import bp, read_db

FIELD_MESSAGES = {
    "event_type": lambda: _("Choose the kind of gathering."),
    "decision": lambda: _("Choose whether it is cancelled, postponed or made smaller."),
    "planned_date": lambda: _("Give the planned date (within a year before and two years after today)."),
    "new_date": lambda: _("A postponed gathering needs its new date, after the planned date."),
    "guests": lambda: _("Guests must be a whole number from 0 to 5000."),
}


def _errors(exc: pledges.PledgeError) -> dict[str, str]:
    return {field: FIELD_MESSAGES[field]() for field in exc.errors}


@bp.route("/pledges")
def ledger():
    scope = current_scope()
    db = read_db()
    status = request.args.get("status", "")
    status = status if status in labels.PLEDGE_STATUS else ""
    today = stats.today_in()
    where, params = in_list("id", scope.village_list())
    entries = pledges.ledger(db, scope.village_list(), grid_ids=scope.grid_list(), status=status) \
        if scope.sees_people else []
    return render_template("reach/pledges.html", entries=entries, totals=pledges.sentences(db, scope.village_list()),
                           labels=labels, status=status, today=today.isoformat(), sees_people=scope.sees_people,
                           can_verify=current_user.role in (ADMIN, SECRETARY, GRID_WORKER),
                           can_link=current_user.role in (ADMIN, SECRETARY),
                           unverified=pledges.count_unverified_past(db, scope.village_list(), today),
                           villages=rows(db, f"SELECT id, name FROM villages WHERE 1 = 1{where} ORDER BY name", params),
                           notices=stats.notices_for(db, scope.village_list()))


@bp.route("/pledges/<int:pledge_id>/verify", methods=["POST"])
@roles_required(ADMIN, SECRETARY, GRID_WORKER)
def verify(pledge_id):
    db = get_db()
    p = pledges.get(db, pledge_id)
    if p is None or not current_scope().allows_resident({"village_id": p["village_id"], "grid_id": p["grid_id"]}):
        abort(404)
    try:
        pledges.verify(db, pledge_id, kept=request.form.get("kept") == "1", user=current_user.row,
                       today=stats.today_in(), now=outbox.now_utc(), ip=client_ip())
    except ValueError:
        flash(_("Not saved: a pledge can be checked once, after its planned date."), "error")
    else:
        flash(_("Pledge checked."))
    return redirect(url_for("reach.ledger"))


@bp.route("/pledges/links", methods=["POST"])
@roles_required(ADMIN, SECRETARY)
def create_link():
    db = get_db()
    raw = request.form.get("village_id", "")
    if not raw.isdigit() or not current_scope().allows_village(int(raw)):
        abort(404)
    village_id = int(raw)
    notice_raw = request.form.get("notice_id", "")
    notice_id = int(notice_raw) if notice_raw.isdigit() else None
    if notice_id and (one(db, "SELECT village_id FROM notices WHERE id = ?", [notice_id]) or {}).get("village_id") \
            != village_id:
        notice_id = None
    token = pledges.create_link(db, village_id=village_id, notice_id=notice_id)
    flash(_("Pledge form link (send it by SMS): %(url)s", url=url_for("reach.public_form", token=token,
                                                                      _external=True)))
    return redirect(url_for("reach.ledger"))


@public
def public_form(token):
    """The public pledge form behind a short link: no login; CSRF still on (it is a form on our site)."""
    db = get_db()
    found = pledges.link(db, token)
    if found is None:
        abort(404)
    if found["used_at"]:
        return render_template("reach/pledge_done.html", link=found, already=True)
    errors, form = {}, request.form if request.method == "POST" else {}
    if request.method == "POST":
        try:
            pledges.submit_public(db, token, request.form, today=stats.today_in(), now=outbox.now_utc())
        except pledges.PledgeError as exc:
            errors = _errors(exc)
        except ValueError:
            return render_template("reach/pledge_done.html", link=found, already=True)
        else:
            return render_template("reach/pledge_done.html", link=found, already=False)
    return render_template("reach/pledge_form.html", link=found, errors=errors, form=form, labels=labels,
                           action=url_for("reach.public_form", token=token)), 400 if errors else 200


@bp.route("/residents/<int:resident_id>/pledge", methods=["GET", "POST"])
@roles_required(ADMIN, SECRETARY, GRID_WORKER)
def worker_pledge(resident_id):
    db = get_db()
    resident = one(db, "SELECT id, village_id, grid_id, name FROM residents WHERE id = ?", [resident_id])
    if resident is None or not current_scope().allows_resident(resident):
        abort(404)
    notice_raw = request.values.get("notice_id", "")
    notice_id = int(notice_raw) if notice_raw.isdigit() else None
    if notice_id and (one(db, "SELECT village_id FROM notices WHERE id = ?", [notice_id]) or {}).get("village_id") \
            != resident["village_id"]:
        abort(404)
    errors, form = {}, request.form if request.method == "POST" else {}
    if request.method == "POST":
        try:
            pledges.record_by_worker(db, resident=resident, notice_id=notice_id, form=request.form,
                                     user=current_user.row, today=stats.today_in(), ip=client_ip())
        except pledges.PledgeError as exc:
            errors = _errors(exc)
        else:
            flash(_("Pledge recorded for %(name)s.", name=resident["name"]))
            if notice_id:
                return redirect(url_for("reach.door_knock", notice_id=notice_id) + f"#r{resident_id}")
            return redirect(url_for("reach.ledger"))
    link = {"village_name": "", "resident_name": resident["name"], "notice_title": ""}
    return render_template("reach/pledge_form.html", link=link, errors=errors, form=form, labels=labels,
                           action=url_for("reach.worker_pledge", resident_id=resident_id, notice_id=notice_id),
                           worker=True), 400 if errors else 200


def init_app(app):
    # Short public path (it goes out by SMS); outside the /reach prefix, still on this module's view.
    app.add_url_rule("/p/<token>", "reach.public_form", public_form, methods=["GET", "POST"])
