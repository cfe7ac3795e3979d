"""Sessions, deny-by-default access, CSRF, security headers and error pages.

Every endpoint needs a logged-in user unless it is marked :func:`public`; role checks use
:func:`roles_required`; object checks use the request's :func:`current_scope` and answer 404.
"""
from __future__ import annotations

import functools
from urllib.parse import urlsplit

from flask import abort, current_app, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import LoginManager, UserMixin, current_user
from flask_wtf.csrf import CSRFError, CSRFProtect

from .accounts import scope as scopes, users
from .db import get_db

csrf = CSRFProtect()
login_manager = LoginManager()
_PUBLIC = set()


class User(UserMixin):
    def __init__(self, row: dict):
        self.row = row
        self.id = row["id"]
        self.username = row["username"]
        self.display_name = row["display_name"]
        self.role = row["role"]


@login_manager.user_loader
def _load_user(user_id: str):
    row = users.get(get_db(), int(user_id)) if str(user_id).isdigit() else None
    return User(row) if row and row["active"] else None


def public(view):
    """Mark a view as reachable without logging in."""
    _PUBLIC.add(view)
    return view


def roles_required(*allowed: str):
    def decorate(view):
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            if current_user.role not in allowed:
                abort(403)
            return view(*args, **kwargs)
        return wrapper
    return decorate


def current_scope() -> scopes.Scope:
    if "scope" not in g:
        g.scope = scopes.resolve(get_db(), current_user.row)
    return g.scope


def scoped_or_404(row: dict | None) -> dict:
    """A row (with ``village_id``) the user may see; anything else is "not found"."""
    if row is None or not current_scope().allows_village(row["village_id"]):
        abort(404)
    return row


def village_or_404(village_id) -> dict:
    from .registry import places

    if not isinstance(village_id, int) or not current_scope().allows_village(village_id):
        abort(404)
    village = places.village(get_db(), village_id)
    if village is None:
        abort(404)
    return village


def resident_or_404(resident_id: int) -> dict:
    from .registry import residents

    resident = residents.get(get_db(), resident_id)
    if resident is None or not current_scope().allows_resident(resident):
        abort(404)
    return resident


def safe_next(target: str | None) -> str:
    """Only same-site relative paths are followed after login."""
    if not target:
        return url_for("home")
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return url_for("home")
    return target


def client_ip() -> str:
    return request.remote_addr or ""


def _require_login():
    if request.endpoint is None or request.endpoint == "static":
        return None
    view = current_app.view_functions.get(request.endpoint)
    if view in _PUBLIC or getattr(view, "__wrapped__", None) in _PUBLIC:
        return None
    if not current_user.is_authenticated:
        return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
    return None


SECURITY_HEADERS = (
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "DENY"),
    ("Referrer-Policy", "same-origin"),
    ("Content-Security-Policy",
     "default-src 'self'; img-src 'self' data:; media-src 'self' blob:; style-src 'self' 'unsafe-inline'; "
     "script-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"),
    ("Permissions-Policy", "microphone=(self), camera=(), geolocation=()"),
)


def _headers(response):
    if request.blueprint == "twilio":
        return response  # machine-to-machine XML and 204s: nothing a browser renders
    present = {key.lower() for key in response.headers.keys()}
    for key, value in SECURITY_HEADERS:
        if key.lower() not in present:
            response.headers.add(key, value)
    if request.is_secure:
        response.headers.add("Strict-Transport-Security", "max-age=31536000")
    return response


def _error(status: int, message: str):
    if request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json":
        return {"error": message}, status
    return render_template("error.html", status=status, message=message), status


def init_app(app):
    csrf.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = None
    app.before_request(_require_login)
    app.after_request(_headers)

    @app.errorhandler(CSRFError)
    def _csrf(exc):
        return _error(400, _("The form expired or was sent from another site. Reload the page and try again."))

    handlers = {
        400: lambda: _("The request could not be understood."),
        403: lambda: _("You do not have permission to do this."),
        404: lambda: _("Not found, or not in your area."),
        405: lambda: _("This action is not allowed here."),
        413: lambda: _("The upload is too large."),
        429: lambda: _("Too many attempts. Please wait and try again."),
        500: lambda: _("Something went wrong on our side. Nothing you entered was lost; please try again."),
    }
    for status, message in handlers.items():
        app.register_error_handler(status, functools.partial(lambda exc, s, m: _error(s, m()),
                                                             s=status, m=message))
