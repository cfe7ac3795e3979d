"""Dalaba (大喇叭): reach every resident of a village with a notice, and prove who heard it.

``create_app(test_config=None)`` builds the web app. Domain packages (registry, accounts, …)
hold no Flask code so the scheduler process and the CLI reuse them.
"""
from __future__ import annotations

import os
import secrets
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from flask import Flask


def _secret_key(instance_path: str) -> str:
    """SECRET_KEY from the environment, else generated once into the instance folder."""
    if os.environ.get("SECRET_KEY"):
        return os.environ["SECRET_KEY"]
    path = os.path.join(instance_path, "secret_key")
    if not os.path.exists(path):
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_hex(32))
    with open(path) as fh:
        return fh.read().strip()


def create_app(test_config: dict | None = None) -> Flask:
    # Imported here so the domain packages (and schedules/) import outreach.* without loading Flask.
    from flask import Flask

    instance_path = os.environ.get("DALABA_INSTANCE") or (test_config or {}).get("INSTANCE_PATH")
    app = Flask(__name__, instance_path=instance_path or None, instance_relative_config=True)
    os.makedirs(app.instance_path, exist_ok=True)
    production = os.environ.get("DALABA_ENV", "production") == "production"
    app.config.from_mapping(
        DATABASE=os.environ.get("DALABA_DATABASE") or os.path.join(app.instance_path, "dalaba.sqlite"),
        MEDIA_DIR=os.path.join(app.instance_path, "media"),
        UPLOAD_DIR=os.path.join(app.instance_path, "uploads"),
        MAX_CONTENT_LENGTH=int(os.environ.get("DALABA_MAX_UPLOAD_MB", "50")) * 1024 * 1024,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        # Behind https in production; the demo runs on plain http on loopback.
        SESSION_COOKIE_SECURE=production,
        REMEMBER_COOKIE_SECURE=production,
        REMEMBER_COOKIE_HTTPONLY=True,
        WTF_CSRF_TIME_LIMIT=None,
        BABEL_DEFAULT_LOCALE="zh",
        BABEL_DEFAULT_TIMEZONE="Asia/Shanghai",
        DEMO_MODE=os.environ.get("DALABA_DEMO", "0") == "1",
        SMS_PRICE_PER_SEGMENT=float(os.environ.get("SMS_PRICE_PER_SEGMENT", "0.05")),
        CALL_PRICE_PER_MINUTE=float(os.environ.get("CALL_PRICE_PER_MINUTE", "0.10")),
        PRICE_CURRENCY=os.environ.get("PRICE_CURRENCY", "CNY"),
        PUBLIC_BASE_URL=(os.environ.get("PUBLIC_BASE_URL") or "http://127.0.0.1:8000").rstrip("/"),
        TWILIO_ACCOUNT_SID=os.environ.get("TWILIO_ACCOUNT_SID", ""),
        TWILIO_AUTH_TOKEN=os.environ.get("TWILIO_AUTH_TOKEN", ""),
        # The built-in simulator's control API (demo only: the "resident's phone" page).
        PHONESIM_URL=os.environ.get("PHONESIM_URL", ""),
        PROXY_COUNT=int(os.environ.get("DALABA_PROXY_COUNT", "0")),
    )
    if test_config is not None:
        app.config.update(test_config)
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = _secret_key(app.instance_path)
    for folder in (app.config["MEDIA_DIR"], app.config["UPLOAD_DIR"]):
        os.makedirs(folder, exist_ok=True)
    if app.config["PROXY_COUNT"]:
        from werkzeug.middleware.proxy_fix import ProxyFix

        n = app.config["PROXY_COUNT"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n)

    from . import cli, db, i18n, security, views
    from .accounts import views as account_views
    from .delivery import webhooks
    from .notices import audio_views, views as notice_views
    from .registry import import_views, views as registry_views

    db.init_app(app)
    i18n.init_app(app)
    security.init_app(app)
    cli.init_app(app)
    views.init_app(app)
    account_views.init_app(app)
    registry_views.init_app(app)
    import_views.init_app(app)
    notice_views.init_app(app)
    audio_views.init_app(app)
    webhooks.init_app(app)
    from .delivery import views as campaign_views, phone_views
    campaign_views.init_app(app); phone_views.init_app(app)
    from . import schedules_views
    schedules_views.init_app(app)
    from .reach import views as reach_views
    reach_views.init_app(app)
    return app
