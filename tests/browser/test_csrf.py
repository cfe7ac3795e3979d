"""CSRF protection is live on the real server: the same POSTs a browser would send, minus the
form's token, are refused with 400 and write nothing; the page's own form (with its token) works.
"""
from __future__ import annotations

import os
import re

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


def count(db, sql: str, params=()) -> int:
    return db.execute(sql, params).fetchone()[0]


def test_form_post_without_token_is_rejected_and_the_real_form_works(page, live_server, log_in, ids, db):
    log_in(page, "sec_a")  # the login form itself carries its token: legitimate use is not blocked
    url = f"{live_server.url}/villages/{ids['yang']}/residents/new"
    data = {"name": "钱多多", "phones": "13800009999", "grid_name": "二网格"}

    # Same session cookie, no token / a forged token.
    assert page.request.post(url, form=data).status == 400
    assert page.request.post(url, form=dict(data, csrf_token="forged")).status == 400
    # A script running in the page (what a cross-site or injected script could do) fares no better.
    status = page.evaluate("""async ([url, data]) => {
        const body = new URLSearchParams(data);
        return (await fetch(url, {method: "POST", body, credentials: "same-origin"})).status;
    }""", [url, data])
    assert status == 400
    assert count(db, "SELECT COUNT(*) FROM residents WHERE name = ?", ["钱多多"]) == 0
    assert count(db, "SELECT COUNT(*) FROM audit_log WHERE action = 'resident_created'") == 0

    # Control: the page's own form, which carries the token, saves the same resident.
    page.goto(url)
    page.locator("#name").fill(data["name"])
    page.locator("#phones").fill(data["phones"])
    page.locator("#grid_name").fill(data["grid_name"])
    page.locator("main form button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/residents/\d+$"))
    expect(page.locator("h1")).to_contain_text("钱多多")
    assert count(db, "SELECT COUNT(*) FROM residents WHERE name = ?", ["钱多多"]) == 1


def test_upload_without_token_is_rejected_and_leaves_no_file(page, live_server, log_in, ids, db, app):
    log_in(page, "sec_a")
    response = page.request.post(f"{live_server.url}/imports/new", multipart={
        "village_id": str(ids["yang"]),
        "file": {"name": "roster.csv", "mimeType": "text/csv",
                 "buffer": "姓名,手机\n钱多多,13800009999\n".encode("utf-8")},
    })
    assert response.status == 400
    assert os.listdir(app.config["UPLOAD_DIR"]) == []
    assert count(db, "SELECT COUNT(*) FROM imports") == 0


def test_login_without_token_is_rejected(page, live_server, db):
    response = page.request.post(f"{live_server.url}/login",
                                 form={"username": "sec_a", "password": "password123"}, max_redirects=0)
    assert response.status == 400
    assert count(db, "SELECT COUNT(*) FROM audit_log WHERE action = 'login'") == 0
    page.goto(f"{live_server.url}/residents")
    expect(page).to_have_url(re.compile(r"/login\?"))
