"""The start page: what the logged-in user is responsible for, at a glance."""
from __future__ import annotations

from flask import render_template

from .db import get_db
from .registry import places
from .security import current_scope


def home():
    scope = current_scope()
    villages = places.villages(get_db(), scope.village_list())
    totals = {key: sum(v[key] for v in villages) for key in ("resident_count", "household_count", "grid_count")}
    return render_template("home.html", villages=villages, totals=totals)


def init_app(app):
    app.add_url_rule("/", "home", home)
