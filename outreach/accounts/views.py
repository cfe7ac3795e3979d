"""Log in and out; admins manage users and read the audit log. Routes stay thin."""
from __future__ import annotations

import sqlite3

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user

from .. import audit
from ..db import get_db, rows
from ..i18n import error_text
from ..params import page_arg
from ..security import User, client_ip, public, roles_required, safe_next
from . import users

auth = Blueprint("auth", __name__)
accounts = Blueprint("accounts", __name__, url_prefix="/admin")


@auth.route("/login", methods=["GET", "POST"])
@public
def login():
    if request.method == "GET":
        if current_user.is_authenticated:
            return redirect(url_for("home"))
        return render_template("auth/login.html")
    db = get_db()
    username = request.form.get("username", "")[:100]
    try:
        row = users.authenticate(db, username, request.form.get("password", "")[:200], client_ip())
    except users.LoginThrottled as exc:
        audit.record(db, "login_throttled", ip=client_ip(), username_tried=username)
        flash(_("Too many failed attempts. Try again in %(minutes)s minutes.",
                minutes=max(1, exc.retry_after // 60)), "error")
        return render_template("auth/login.html", username=username), 429
    if row is None:
        audit.record(db, "login_failed", ip=client_ip(), username_tried=username)
        flash(_("Wrong username or password."), "error")
        return render_template("auth/login.html", username=username), 401
    lang = session.get("lang")
    session.clear()  # a fresh session at login: no fixation
    if lang:
        session["lang"] = lang
    login_user(User(row))
    audit.record(db, "login", user=row, ip=client_ip())
    return redirect(safe_next(request.args.get("next")))


@auth.route("/logout", methods=["POST"])
def logout():
    audit.record(get_db(), "logout", user=current_user.row, ip=client_ip())
    logout_user()
    lang = session.get("lang")
    session.clear()
    if lang:
        session["lang"] = lang
    return redirect(url_for("auth.login"))


@accounts.route("/users", endpoint="users", methods=["GET", "POST"])
@roles_required(users.ADMIN)
def users_page():
    db = get_db()
    if request.method == "POST":
        form = request.form
        scope_kind = form.get("scope_kind", "")
        try:
            scope_ids = [int(x) for x in form.getlist("scope_id") if x.strip()]
        except ValueError:
            scope_ids = []
        scopes = {scope_kind: scope_ids} if scope_kind and scope_ids else {}
        try:
            user_id = users.create_user(db, form.get("username", ""), form.get("password", ""), form.get("role", ""),
                                        display_name=form.get("display_name", "").strip()[:50], scopes=scopes)
        except (ValueError, sqlite3.IntegrityError) as exc:  # unknown scope ids fail the FK
            flash(_("User not created: %(reason)s", reason=error_text(exc)), "error")
        else:
            audit.record(db, "user_created", user=current_user.row, object_type="user", object_id=user_id,
                         ip=client_ip(), role=form.get("role"), scopes=scopes)
            flash(_("User created."))
            return redirect(url_for("accounts.users"))
    places = {
        "village_id": rows(db, "SELECT id, name FROM villages ORDER BY name"),
        "township_id": rows(db, "SELECT id, name FROM townships ORDER BY name"),
        "county_id": rows(db, "SELECT id, name FROM counties ORDER BY name"),
        "grid_id": rows(db, "SELECT g.id, v.name || ' · ' || g.name AS name FROM grids g "
                            "JOIN villages v ON v.id = g.village_id ORDER BY v.name, g.name"),
    }
    return render_template("admin/users.html", users=users.list_users(db), roles=users.ROLES, places=places)


@accounts.route("/audit", endpoint="audit")
@roles_required(users.ADMIN)
def audit_page():
    db = get_db()
    page = page_arg()
    filters = {k: request.args.get(k, "")[:50] for k in ("action", "username", "since", "until")}
    entries, total = audit.query(db, page=page, **filters)
    return render_template("admin/audit.html", entries=entries, total=total, page=page, filters=filters,
                           actions=audit.actions(db), per_page=audit.PER_PAGE)


def init_app(app):
    app.register_blueprint(auth)
    app.register_blueprint(accounts)
