"""The resident's phone (demo mode only): what the simulator says a resident's phone received, and
buttons to act as that resident — press keys, reply by text, hang up, call the village number.

Everything goes through the simulator's control API (``phonesim/control.py``) under
``PHONESIM_URL``, with the same HTTP Basic credentials as its Twilio REST API. Outside demo
mode every route answers 404, so no production page can reach a simulator.
"""
from __future__ import annotations

import os
from urllib.parse import quote, urlsplit

import requests
from flask import Blueprint, abort, current_app, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _

from ..accounts.users import ADMIN, GRID_WORKER, SECRETARY
from ..db import get_db
from ..registry import phones
from ..registry.search import ResidentQuery, search
from ..security import current_scope, roles_required
from ..security import resident_or_404 as _resident_or_404

bp = Blueprint("phone", __name__, url_prefix="/phone")
PEOPLE = (ADMIN, SECRETARY, GRID_WORKER)
KEYS = ("1", "2", "9", "0")  # the call menu: heard, pledge, repeat, call me back
TIMEOUT_S = 5


class SimUnavailable(Exception):
    """The simulator did not answer, or answered with an error; ``str()`` says which."""

    def __init__(self, message: str, status: int | None = None):
        super().__init__(message)
        self.status = status


@bp.before_request
def _demo_only():
    if not (current_app.config.get("DEMO_MODE") and current_app.config.get("PHONESIM_URL")):
        abort(404)


def sim_request(method: str, path: str, body=None) -> dict:
    """One control API call; SimUnavailable for connection errors and non-2xx answers."""
    cfg = current_app.config
    sid = cfg.get("TWILIO_ACCOUNT_SID") or os.environ.get("TWILIO_ACCOUNT_SID", "")
    token = cfg.get("TWILIO_AUTH_TOKEN") or os.environ.get("TWILIO_AUTH_TOKEN", "")
    url = cfg["PHONESIM_URL"].rstrip("/") + path
    try:
        reply = requests.request(method, url, json=body, auth=(sid, token), timeout=TIMEOUT_S)
    except requests.RequestException as exc:
        raise SimUnavailable(type(exc).__name__) from exc
    try:
        data = reply.json()
    except ValueError:
        data = {}
    if not reply.ok:
        raise SimUnavailable(str(data.get("error") or reply.reason), reply.status_code)
    return data


def _phone_path(e164: str, action: str = "") -> str:
    return f"/sim/phones/{quote(e164, safe='')}" + (f"/{action}" if action else "")




def _number(resident: dict) -> str:
    """The phone being looked at: ?number= if it is one of the resident's, else their first."""
    wanted = request.values.get("number", "")
    numbers = [p["e164"] for p in resident["phones"]]
    if not numbers:
        return ""
    return wanted if wanted in numbers else numbers[0]


def local_audio(url: str | None) -> str | None:
    """Played audio as a path on this app when it is ours (the page's CSP allows only same-origin media)."""
    if not url:
        return None
    parts = urlsplit(url)
    ours = urlsplit(current_app.config.get("PUBLIC_BASE_URL", ""))
    if not parts.netloc or (parts.scheme, parts.netloc) == (ours.scheme, ours.netloc) \
            or parts.netloc == request.host or parts.path.startswith("/media/t/"):
        return parts.path + (f"?{parts.query}" if parts.query else "")
    return None


def conversation(state: dict) -> list[dict]:
    """Texts received and sent by the phone, oldest first."""
    items = [dict(t, incoming=True) for t in state.get("texts", [])]
    items += [dict(t, incoming=False) for t in state.get("sent", [])]
    return sorted(items, key=lambda t: t.get("at") or "")


@bp.route("")
@roles_required(*PEOPLE)
def pick():
    scope = current_scope()
    text = request.args.get("q", "")[:50]
    found, total = search(get_db(), ResidentQuery(village_ids=scope.village_list(), grid_ids=scope.grid_list(),
                                                  text=text, per_page=30))
    return render_template("phone/pick.html", residents=found, total=total, q=text, display=phones.display)


def _state(resident: dict, number: str) -> tuple[dict | None, str | None]:
    if not number:
        return None, None
    try:
        return sim_request("GET", _phone_path(number)), None
    except SimUnavailable as exc:
        return None, _("The phone simulator did not answer: %(reason)s", reason=str(exc))


@bp.route("/<int:resident_id>")
@roles_required(*PEOPLE)
def show(resident_id):
    resident = _resident_or_404(resident_id)
    number = _number(resident)
    state, problem = _state(resident, number)
    return render_template("phone/show.html", r=resident, number=number, state=state, problem=problem,
                           keys=KEYS, display=phones.display, conversation=conversation(state or {}),
                           audio=local_audio)


@bp.route("/<int:resident_id>/state")
@roles_required(*PEOPLE)
def state(resident_id):
    """The phone's screen alone, for phone.js to refresh every couple of seconds."""
    resident = _resident_or_404(resident_id)
    number = _number(resident)
    current, problem = _state(resident, number)
    response = current_app.make_response(render_template(
        "phone/_screen.html", r=resident, number=number, state=current, problem=problem, keys=KEYS,
        display=phones.display, conversation=conversation(current or {}), audio=local_audio))
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/<int:resident_id>/<any(press, reply, hangup, call, interactive):action>", methods=["POST"])
@roles_required(*PEOPLE)
def act(resident_id, action):
    resident = _resident_or_404(resident_id)
    number = _number(resident)
    if not number:
        abort(404)
    try:
        if action == "press":
            digits = request.form.get("digits", "")
            if digits not in KEYS:
                abort(400)
            sim_request("POST", _phone_path(number, "press"), {"digits": digits})
            message = _("Pressed %(key)s.", key=digits)
        elif action == "reply":
            body = request.form.get("body", "").strip()[:500]
            if not body:
                return _back(resident_id, number, _("Write a text first."), "error")
            sim_request("POST", _phone_path(number, "reply"), {"body": body})
            message = _("Text sent to the village number.")
        elif action == "hangup":
            hung = sim_request("POST", _phone_path(number, "hangup")).get("ok")
            message = _("Hung up.") if hung else _("There was no call to hang up.")
        elif action == "call":
            sim_request("POST", "/sim/inbound/call", {"from": number})
            message = _("Calling the village number…")
        else:
            on = request.form.get("interactive") == "1"
            sim_request("PUT", f"/sim/residents/{quote(number, safe='')}", {"interactive": on})
            message = _("You now answer this phone yourself.") if on else \
                _("This phone answers on its own again, as the simulated resident would.")
    except SimUnavailable as exc:
        if exc.status == 409:
            return _back(resident_id, number, _("No call on this phone is waiting for keys."), "warning")
        return _back(resident_id, number, _("The phone simulator did not answer: %(reason)s", reason=str(exc)),
                     "error")
    return _back(resident_id, number, message)


def _back(resident_id: int, number: str, message: str, category: str = "message"):
    """phone.js posts with fetch and wants the message; a plain form post goes back to the page."""
    if request.headers.get("X-Requested-With") == "fetch":
        return jsonify(ok=category == "message", message=message, category=category)
    flash(message, category)
    return redirect(url_for("phone.show", resident_id=resident_id, number=number))


def init_app(app):
    app.register_blueprint(bp)
