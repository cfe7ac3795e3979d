"""Every form and upload fed empty, huge, wrong-type, script and non-UTF-8 values: never a 500.

The sweep walks the app's URL map, so routes added later are covered without editing this file.
Twilio webhooks are excluded (they answer 403 to anything unsigned, tested in tests/delivery).
"""
import io
import re

import pytest

NASTY_VALUES = {
    "empty": "",
    "huge": "长" * 20000,
    "script": "<script>alert(1)</script>\"'><img src=x onerror=alert(1)>",
    "wrong_type": "-1e309",
    "sql": "1; DROP TABLE residents; --",
    "formula": "=cmd|' /C calc'!A0",
    "nul": "a\x00b",
}
NON_UTF8 = "\xff\xfe\xfa".encode("latin-1")


def _fill(rule, ids):
    url = rule.rule
    for arg in rule.arguments:
        converter = rule._converters[arg].__class__.__name__
        value = str(ids["res_a1"]) if "resident" in arg else "1" if converter == "IntegerConverter" else "x"
        url = re.sub(rf"<(?:[a-z]+(?:\([^)]*\))?:)?{arg}>", value, url)
    return url


def _post_rules(app):
    for rule in app.url_map.iter_rules():
        if "POST" in rule.methods and not rule.rule.startswith("/twilio") and rule.endpoint != "static":
            yield rule


FIELD_NAMES = ["name", "title", "text", "phones", "birth_year", "village_id", "grid_id", "notice_id", "language",
               "repeat", "sms_text", "username", "password", "role", "channel", "max_attempts", "throttle",
               "window", "expires", "times", "start", "until", "count", "reason", "digits", "body", "q", "min_age",
               "action", "outcome", "event_type", "planned_date", "guests", "decision", "quiet_hours", "kind",
               "config", "number", "resident_id", "loops", "status", "tags", "note"]


@pytest.mark.parametrize("label", sorted(NASTY_VALUES))
def test_no_form_answers_500(app, client, login, ids, label):
    login(client, "admin")
    value = NASTY_VALUES[label]
    failures = []
    for rule in _post_rules(app):
        url = _fill(rule, ids)
        data = {name: value for name in FIELD_NAMES}
        response = client.post(url, data=data)
        if response.status_code >= 500:
            failures.append((url, response.status_code))
    assert failures == []


def test_non_utf8_bodies_and_uploads_never_answer_500(app, client, login, ids):
    login(client, "sec_a")
    failures = []
    for rule in _post_rules(app):
        url = _fill(rule, ids)
        raw = client.post(url, data=b"name=" + NON_UTF8 + b"&title=" + NON_UTF8,
                          content_type="application/x-www-form-urlencoded")
        boundary = b"sweepboundary"
        body = (b"--" + boundary + b'\r\nContent-Disposition: form-data; name="file"; filename="' + NON_UTF8
                + b'.csv"\r\nContent-Type: text/csv\r\n\r\n' + NON_UTF8 * 100 + b"\r\n--" + boundary
                + b'\r\nContent-Disposition: form-data; name="title"\r\n\r\n' + NON_UTF8 + b"\r\n--"
                + boundary + b"--\r\n")
        upload = client.post(url, data=body, content_type="multipart/form-data; boundary=sweepboundary")
        wrong_type = client.post(url, data={"file": (io.BytesIO(b"%PDF-1.4 not what you think"), "a.mp3")},
                                 content_type="multipart/form-data")
        for response in (raw, upload, wrong_type):
            if response.status_code >= 500:
                failures.append((url, response.status_code))
    assert failures == []


@pytest.mark.parametrize("query", ["?page=-1", "?page=99999999999999999999", "?q=%FF%FE", "?min_age=abc",
                                   "?village_id=<script>", "?grid_id=1e9&tag=nope&language=" + "x" * 5000])
def test_no_page_answers_500_to_odd_queries(app, client, login, ids, query):
    login(client, "admin")
    failures = []
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or rule.endpoint == "static" or rule.rule.startswith("/twilio"):
            continue
        if rule.endpoint in ("auth.logout",):
            continue
        url = _fill(rule, ids) + query
        response = client.get(url)
        if response.status_code >= 500:
            failures.append((url, response.status_code))
    assert failures == []
