"""Logging in and out, throttling, CSRF, cookies and security headers."""
import pytest

from outreach import create_app
from outreach.accounts import users


def test_login_then_logout(client, login):
    response = login(client, "sec_a")
    assert response.status_code == 302
    assert client.get("/").status_code == 200
    client.post("/logout")
    assert client.get("/").status_code == 302


def test_wrong_password_is_refused_with_a_message(client, login):
    response = login(client, "sec_a", "not-the-password")
    assert response.status_code == 401
    assert client.get("/").status_code == 302


def test_login_is_throttled_after_repeated_failures(client, login):
    for _ in range(users.MAX_FAILURES):
        assert login(client, "sec_a", "wrong-password").status_code == 401
    # Even the right password is refused while throttled.
    assert login(client, "sec_a").status_code == 429
    # Another account from the same address is not affected.
    assert login(client, "sec_b").status_code == 302


def test_throttle_window_expires(db):
    for i in range(users.MAX_FAILURES):
        users.authenticate(db, "sec_a", "wrong", "10.0.0.1", now=1000.0 + i)
    with pytest.raises(users.LoginThrottled):
        users.authenticate(db, "sec_a", "password123", "10.0.0.1", now=1010.0)
    later = 1010.0 + users.FAILURE_WINDOW_S + 5
    assert users.authenticate(db, "sec_a", "password123", "10.0.0.1", now=later)["username"] == "sec_a"


@pytest.mark.parametrize("target,expected", [
    ("/residents", "/residents"),
    ("https://evil.example/", "/"),
    ("//evil.example/", "/"),
    ("/\\evil.example", "/"),
])
def test_next_redirect_stays_on_site(client, target, expected):
    response = client.post(f"/login?next={target}", data={"username": "sec_a", "password": "password123"})
    assert response.headers["Location"] == expected


def test_session_is_renewed_at_login(client, login):
    with client.session_transaction() as session:
        session["planted"] = "by-attacker"
    login(client, "sec_a")
    with client.session_transaction() as session:
        assert "planted" not in session


def test_csrf_is_enforced_when_enabled(tmp_path, app):
    """The real configuration: a form post without the token is refused and changes nothing."""
    app.config["WTF_CSRF_ENABLED"] = True
    client = app.test_client()
    response = client.post("/login", data={"username": "sec_a", "password": "password123"})
    assert response.status_code == 400
    assert client.get("/").status_code == 302  # still logged out
    page = client.get("/login").get_data(as_text=True)
    token = page.split('name="csrf_token" value="')[1].split('"')[0]
    response = client.post("/login", data={"username": "sec_a", "password": "password123", "csrf_token": token})
    assert response.status_code == 302


def test_security_headers_and_cookie_flags(client, login):
    response = login(client, "sec_a")
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    page = client.get("/")
    assert page.headers["X-Frame-Options"] == "DENY"
    assert "default-src 'self'" in page.headers["Content-Security-Policy"]
    assert page.headers["X-Content-Type-Options"] == "nosniff"


def test_production_cookies_are_secure_and_secret_is_generated(tmp_path, monkeypatch):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.setenv("DALABA_ENV", "production")
    app = create_app({"INSTANCE_PATH": str(tmp_path / "inst")})
    assert app.config["SESSION_COOKIE_SECURE"] is True
    secret = (tmp_path / "inst" / "secret_key").read_text()
    assert len(secret) >= 32 and app.config["SECRET_KEY"] == secret
    again = create_app({"INSTANCE_PATH": str(tmp_path / "inst")})
    assert again.config["SECRET_KEY"] == secret  # stable across restarts: sessions survive


def test_inactive_user_cannot_log_in(client, login, db):
    db.execute("UPDATE users SET active = 0 WHERE username = 'sec_a'")
    assert login(client, "sec_a").status_code == 401
