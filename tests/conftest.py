"""Fixtures in the flaskr style: ``app`` (fresh instance folder and SQLite file), ``client``, ``runner``.

The base data set is small and fixed so tests can name what they expect:
county 青山县 → township 西河镇 → villages 杨家坪村 (grids 一网格 with sub-grid 一网格/1小组, 二网格)
and 石门村 (grid 移民一组); another township 东岭乡 with 东岭村. Users (password "password123"):
admin, sec_a (杨家坪村), sec_b (石门村), grid_a (一网格), official (西河镇), official_east (东岭乡).
"""
from __future__ import annotations

import logging
import threading

import pytest
from werkzeug.serving import make_server

from outreach import create_app
from outreach.accounts import users
from outreach.db import connect
from outreach.migrations import apply
from outreach.registry import places
from outreach.registry.residents import ResidentInput, upsert

PASSWORD = "password123"
# Hashing cost is not what these tests check; scrypt would make every fixture take a second.
users.HASH_METHOD = "pbkdf2:sha256:1000"


def build_base_data(db) -> dict:
    ids = {}
    county = places.ensure_county(db, "青山县")
    west = places.ensure_township(db, county, "西河镇")
    east = places.ensure_township(db, county, "东岭乡")
    ids["yang"] = places.ensure_village(db, west, "杨家坪村")
    ids["shimen"] = places.ensure_village(db, west, "石门村", default_language="重庆话")
    ids["dongling"] = places.ensure_village(db, east, "东岭村")
    ids["grid1"] = places.ensure_grid(db, ids["yang"], "一网格")
    ids["grid1_sub"] = places.ensure_grid(db, ids["yang"], "一网格/1小组")
    ids["grid2"] = places.ensure_grid(db, ids["yang"], "二网格")
    ids["res_a1"] = upsert(db, ids["yang"], ResidentInput(
        name="张秀英", phones=["+8613900001111"], grid_name="一网格/1小组", house_number="1组001号",
        birth_year=1942, sex="F", tags={"lives_alone"}))[0]
    ids["res_a2"] = upsert(db, ids["yang"], ResidentInput(
        name="李德明", phones=["+8613900002222"], grid_name="二网格", house_number="2组010号", birth_year=1980,
        sex="M"))[0]
    ids["res_b1"] = upsert(db, ids["shimen"], ResidentInput(
        name="王桂兰", phones=["+8613900003333"], grid_name="移民一组", house_number="移01号", birth_year=1950,
        sex="F", language="重庆话"))[0]
    ids["res_e1"] = upsert(db, ids["dongling"], ResidentInput(
        name="赵国强", phones=["+8613900004444"], house_number="东01号", birth_year=1960, sex="M"))[0]
    users.create_user(db, "admin", PASSWORD, users.ADMIN)
    users.create_user(db, "sec_a", PASSWORD, users.SECRETARY, scopes={"village_id": [ids["yang"]]})
    users.create_user(db, "sec_b", PASSWORD, users.SECRETARY, scopes={"village_id": [ids["shimen"]]})
    users.create_user(db, "grid_a", PASSWORD, users.GRID_WORKER, scopes={"grid_id": [ids["grid1"]]})
    users.create_user(db, "official", PASSWORD, users.OFFICIAL, scopes={"township_id": [west]})
    users.create_user(db, "official_east", PASSWORD, users.OFFICIAL, scopes={"township_id": [east]})
    return ids


@pytest.fixture
def app(tmp_path):
    app = create_app({"TESTING": True, "WTF_CSRF_ENABLED": False, "INSTANCE_PATH": str(tmp_path / "instance"),
                      "SECRET_KEY": "test-secret", "SESSION_COOKIE_SECURE": False})
    db = connect(app.config["DATABASE"])
    apply(db)
    app.config["IDS"] = build_base_data(db)
    db.close()
    yield app


@pytest.fixture
def ids(app):
    return app.config["IDS"]


@pytest.fixture
def db(app):
    handle = connect(app.config["DATABASE"])
    yield handle
    handle.close()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


def _login(client, username: str, password: str = PASSWORD):
    return client.post("/login", data={"username": username, "password": password})


@pytest.fixture
def login():
    """``login(client, "sec_a")`` logs that user in on ``client``."""
    return _login


@pytest.fixture
def live_url(app):
    """The app served by a real threaded HTTP server on 127.0.0.1 (for the phone network's webhooks)."""
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # a line per webhook drowns failures
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(5)
