"""Reach screens: the dashboard, a notice's reach, people and roll call, door-knock lists and visits,
"resend to the unreached", live progress and the daily report. Pledge screens: pledge_views.

Thin: check role and scope, call the domain (state, stats, doorknock, report), render. Statistics
read through a read-only connection; officials get aggregates only (404 on people pages).
"""
from __future__ import annotations

from datetime import date
from urllib.parse import quote

from flask import (Blueprint, Response, abort, current_app, flash, g, jsonify, redirect, render_template, request,
                   url_for)
from flask_babel import gettext as _
from flask_login import current_user

from ..accounts.users import ADMIN, GRID_WORKER, OFFICIAL, SECRETARY
from ..db import connect, get_db, rows
from ..delivery import outbox
from ..registry import exporter, phones
from ..security import client_ip, current_scope, roles_required
from . import charts, doorknock, labels, report, state, stats

bp = Blueprint("reach", __name__, url_prefix="/reach")
STATS_ROLES = (ADMIN, SECRETARY, OFFICIAL)
FIELD_ROLES = (ADMIN, SECRETARY, GRID_WORKER)
EDITORS = (ADMIN, SECRETARY)


def read_db():
    """A read-only connection for statistics, closed when the request ends."""
    if "reach_db" not in g:
        g.reach_db = connect(current_app.config["DATABASE"], readonly=True)
    return g.reach_db


@bp.teardown_app_request
def _close(_exc=None):
    handle = g.pop("reach_db", None)
    if handle is not None:
        handle.close()


def notice_or_404(notice_id: int) -> dict:
    notice = state.notice_of(read_db(), notice_id)
    if notice is None or not current_scope().allows_village(notice["village_id"]):
        abort(404)
    return notice


def people_scope_or_404():
    """Grid ids the user may list people of (None: all of the village); officials see no people."""
    scope = current_scope()
    if not scope.sees_people:
        abort(404)
    return scope.grid_list()


def _bars(table: list[dict], key: str) -> list[dict]:
    """Disjoint parts for the stacked bars: acknowledged, heard only, delivered only."""
    return [{"label": r[key] or "—", "targeted": r["targeted"], "acknowledged": r["acknowledged"],
             "heard_only": r["heard"] - r["acknowledged"], "delivered_only": r["delivered"] - r["heard"]}
            for r in table]


def _bar_series():
    return [("acknowledged", _("Acknowledged")), ("heard_only", _("Heard in full")),
            ("delivered_only", _("Delivered"))]


def _funnel(c: dict, title: str):
    return charts.funnel([(_("Residents"), c["targeted"]), (_("Contacted"), c["contacted"]),
                          (_("Delivered"), c["delivered"]), (_("Heard in full"), c["heard"]),
                          (_("Acknowledged"), c["acknowledged"])], title)


def _trend_chart(days: list[dict]):
    return charts.trend(days, [("acknowledged_total", _("Acknowledged so far")), ("reached", _("Reached that day")),
                               ("visits", _("Visits"))], _("Reach over the last %(n)s days", n=len(days)))


@bp.route("/")
def dashboard():
    if current_user.role == GRID_WORKER:
        return redirect(url_for("reach.door_index"))
    if current_user.role not in STATS_ROLES:
        abort(403)
    data = stats.dashboard(read_db(), current_scope().village_list())
    return render_template(
        "reach/dashboard.html", d=data, labels=labels,
        funnel=_funnel(data["total"], _("All villages: from residents to acknowledged")),
        bars=charts.stacked_bars(_bars(data["villages"], "village"), _bar_series(),
                                 _("Share of residents reached, per village")),
        trend=_trend_chart(data["trend"]))


@bp.route("/notices/<int:notice_id>")
def notice(notice_id):
    if current_user.role not in STATS_ROLES + (GRID_WORKER,):
        abort(403)
    n = notice_or_404(notice_id)
    db, scope = read_db(), current_scope()
    grid_ids = scope.grid_list()
    mod = stats.offset_modifier(n["timezone"])
    counted, per_day = state.summary(db, n, grid_ids=grid_ids, day_modifier=mod)
    grids = stats.grid_table(db, n, grid_ids)
    trend = stats.trend(per_day, stats.visits_per_day(db, [n]), end=stats.today_in(n["timezone"]))
    return render_template(
        "reach/notice.html", n=n, c=counted[0], grids=grids, labels=labels,
        breakdown=stats.breakdown(db, [n["id"]]), coverage=state.coverage(db, n["id"]),
        campaigns=stats.campaign_funnels(db, [n["id"]]), pledges=stats.pledge_count(db, n["id"], grid_ids),
        funnel=_funnel(counted[0], _("%(title)s: from residents to acknowledged", title=n["title"])),
        bars=charts.stacked_bars(_bars(grids, "grid"), _bar_series(), _("Share of residents reached, per grid")),
        trend=_trend_chart(trend), sees_people=scope.sees_people, can_resend=current_user.role in EDITORS,
        notices=stats.notices_for(db, scope.village_list()))


@bp.route("/notices/<int:notice_id>/people")
def people(notice_id):
    n = notice_or_404(notice_id)
    grid_ids = people_scope_or_404()
    wanted_state = request.args.get("state", "")
    wanted_grid = request.args.get("grid", "")
    if wanted_grid.isdigit():
        grid_ids = [int(wanted_grid)] if grid_ids is None or int(wanted_grid) in grid_ids else []
    found = state.people(read_db(), n, grid_ids=grid_ids)
    if wanted_state in state.STATES:
        found = [p for p in found if p["state"] == wanted_state]
    return render_template("reach/people.html", n=n, people=found[:2000], total=len(found), labels=labels,
                           wanted_state=wanted_state)


@bp.route("/notices/<int:notice_id>/roll-call")
def roll_call(notice_id):
    n = notice_or_404(notice_id)
    grids = doorknock.roll_call(read_db(), n, grid_ids=people_scope_or_404())
    return render_template("reach/roll_call.html", n=n, grids=grids, labels=labels, display=phones.display,
                           total=sum(g["count"] for g in grids))


@bp.route("/live/<int:campaign_id>.json")
def live(campaign_id):
    """Counts of one campaign and of its notice, for reach.js to refresh without reloading the page."""
    if current_user.role not in STATS_ROLES:
        abort(403)
    db = read_db()
    camp = rows(db, "SELECT id, notice_id, village_id, status FROM campaigns WHERE id = ?", [campaign_id])
    if not camp or not current_scope().allows_village(camp[0]["village_id"]):
        abort(404)
    funnel = next((c for c in stats.campaign_funnels(db, [camp[0]["notice_id"]]) if c["id"] == campaign_id), {})
    n = state.notice_of(db, camp[0]["notice_id"])
    c = state.counts(db, n)[0]
    keys = ("planned", "sent", "reached", "heard", "acknowledged", "pledges", "open")
    response = jsonify({"status": camp[0]["status"], "campaign": {k: funnel.get(k, 0) for k in keys},
                        "notice": {k: c[k] for k in ("targeted", "delivered", "heard", "acknowledged", "unreachable",
                                                     "acknowledged_rate")}})
    response.headers["Cache-Control"] = "no-store"
    return response


# ---- door-knocking --------------------------------------------------------------------------

@bp.route("/door-knock")
@roles_required(*FIELD_ROLES)
def door_index():
    scope = current_scope()
    db = read_db()
    listed = []
    for n in stats.notices_for(db, scope.village_list())[:10]:  # each list is one pass over a notice
        notice_row = state.notice_of(db, n["id"])
        listed.append({**n, "unreached": len(doorknock.door_list(db, notice_row, grid_ids=scope.grid_list()))})
    return render_template("reach/door_index.html", notices=listed)


def _door_context(notice_id: int):
    n = notice_or_404(notice_id)
    grid_ids = people_scope_or_404()
    everyone = request.args.get("all") == "1"
    listed = doorknock.door_list(read_db(), n, grid_ids=grid_ids, include_in_flight=everyone)
    visits = doorknock.last_visits(read_db(), n["id"], [p["resident_id"] for p in listed])
    return n, listed, visits, everyone


@bp.route("/notices/<int:notice_id>/door-knock")
@roles_required(*FIELD_ROLES)
def door_knock(notice_id):
    n, listed, visits, everyone = _door_context(notice_id)
    return render_template("reach/door_knock.html", n=n, people=listed, visits=visits, everyone=everyone,
                           labels=labels, display=phones.display, can_resend=current_user.role in EDITORS)


@bp.route("/notices/<int:notice_id>/door-knock/print")
@roles_required(*FIELD_ROLES)
def door_print(notice_id):
    n, listed, visits, everyone = _door_context(notice_id)
    return render_template("reach/door_print.html", n=n, people=listed, visits=visits, labels=labels,
                           display=phones.display, today=stats.today_in(n["timezone"]))


@bp.route("/notices/<int:notice_id>/visits", methods=["POST"])
@roles_required(*FIELD_ROLES)
def record_visit(notice_id):
    n = notice_or_404(notice_id)
    db = get_db()
    raw = request.form.get("resident_id", "")
    resident = rows(db, "SELECT id, village_id, grid_id, name FROM residents WHERE id = ?",
                    [int(raw)]) if raw.isdigit() and len(raw) < 12 else []
    if not resident or not current_scope().allows_resident(resident[0]):
        abort(404)
    try:
        doorknock.record_visit(db, notice=n, resident_id=resident[0]["id"], outcome=request.form.get("outcome", ""),
                               user=current_user.row, note=request.form.get("note", ""), ip=client_ip())
    except ValueError:
        flash(_("Not saved: choose what happened at the visit (a note may have at most 500 characters)."), "error")
    else:
        flash(_("%(name)s: %(outcome)s — saved.", name=resident[0]["name"],
                outcome=labels.VISIT.get(request.form["outcome"], "")))
    back = url_for("reach.door_knock", notice_id=notice_id, all=request.form.get("all") or None)
    return redirect(f"{back}#r{resident[0]['id']}")


@bp.route("/notices/<int:notice_id>/resend", methods=["POST"])
@roles_required(*EDITORS)
def resend(notice_id):
    n = notice_or_404(notice_id)
    try:
        campaign_id, selection = doorknock.resend_to_unreached(get_db(), n, user=current_user.row,
                                                               now=outbox.now_utc(), ip=client_ip())
    except ValueError:
        flash(_("Nobody is left to resend to: everyone was reached, or is still being tried."), "warning")
        return redirect(url_for("reach.door_knock", notice_id=notice_id))
    flash(_("Resending to %(count)s unreached people (%(skipped)s without a usable number stay on the "
            "door-knock list).", count=len(selection.targets), skipped=sum(selection.skipped.values())))
    return redirect(url_for("campaigns.show", campaign_id=campaign_id))


# ---- daily report ---------------------------------------------------------------------------

def _townships():
    villages = current_scope().village_list()
    where, params = state.in_list("v.id", villages)
    return rows(read_db(), f"""SELECT DISTINCT t.id, t.name FROM townships t JOIN villages v ON v.township_id = t.id
                               WHERE 1 = 1{where} ORDER BY t.name""", params)


@bp.route("/daily")
@roles_required(*STATS_ROLES)
def daily():
    townships = _townships()
    if not townships:
        abort(404)
    raw = request.args.get("township", "")
    chosen = next((t for t in townships if str(t["id"]) == raw), townships[0])
    try:
        day = date.fromisoformat(request.args.get("day", "")) if request.args.get("day") else stats.today_in()
    except ValueError:
        flash(_("The day is not a valid date; showing today."), "warning")
        day = stats.today_in()
    data = report.daily(read_db(), chosen["id"], day, village_ids=current_scope().village_list())
    fmt = request.args.get("format", "")
    if fmt in (exporter.CSV, exporter.XLSX):
        body = report.export(data, fmt, _)
        name = f"{chosen['name']}-每日通报-{day.isoformat()}.{fmt}"
        return Response(body, mimetype=exporter.FORMATS[fmt], headers={
            "Content-Disposition": f"attachment; filename=daily-{day.isoformat()}.{fmt}; "
                                   f"filename*=UTF-8''{quote(name)}"})
    return render_template("reach/daily.html", r=data, townships=townships, chosen=chosen,
                           columns=report.COLUMNS, headers=report.HEADERS, printing=request.args.get("print") == "1")


def init_app(app):
    from . import pledge_views  # noqa: F401  (routes on the same blueprint)

    app.register_blueprint(bp)
    pledge_views.init_app(app)
