"""The command line: migrate, create users, seed the demo."""
from outreach.accounts import users
from outreach.db import connect


def test_every_command_has_help(runner):
    for command in ("migrate", "create-user", "seed-demo", "compile-translations"):
        result = runner.invoke(args=[command, "--help"])
        assert result.exit_code == 0 and "Usage" in result.output
        assert len(result.output.splitlines()) > 3


def test_migrate_reports_up_to_date(runner):
    assert "up to date" in runner.invoke(args=["migrate"]).output


def test_create_user_and_log_in(runner, client, login, app, ids):
    result = runner.invoke(args=["create-user", "new_sec", "--role", "secretary", "--village", str(ids["shimen"]),
                                 "--password", "longenough"])
    assert result.exit_code == 0, result.output
    assert login(client, "new_sec", "longenough").status_code == 302
    assert "石门村" in client.get("/villages").get_data(as_text=True)


def test_create_user_rejects_short_password(runner):
    result = runner.invoke(args=["create-user", "x", "--role", "admin", "--password", "short"])
    assert result.exit_code != 0 and "at least 8" in result.output


def test_seed_demo_builds_a_realistic_village(tmp_path, monkeypatch):
    from outreach import create_app

    app = create_app({"INSTANCE_PATH": str(tmp_path / "demo"), "SECRET_KEY": "x"})
    runner = app.test_cli_runner()
    assert "demo data created" in runner.invoke(args=["seed-demo", "--households", "200"]).output
    assert "nothing seeded" in runner.invoke(args=["seed-demo"]).output
    db = connect(app.config["DATABASE"])
    villages = dict(db.execute("SELECT name, id FROM villages").fetchall())
    assert set(villages) == {"杨家坪村", "石门村"}
    grids = db.execute("SELECT COUNT(*) FROM grids WHERE village_id = ? AND parent_id IS NULL",
                       [villages["杨家坪村"]]).fetchone()[0]
    assert grids == 7
    roles = {r[0] for r in db.execute("SELECT role FROM users")}
    assert roles == set(users.ROLES)
    assert db.execute("SELECT COUNT(DISTINCT language) FROM residents").fetchone()[0] == 2
    no_phone = db.execute("SELECT COUNT(*) FROM resident_tags WHERE tag = 'no_phone'").fetchone()[0]
    assert no_phone > 0
    # A ready notice with audio and a week of loudspeaker plays (07:00, 12:00, 18:30 × 7 days).
    assert db.execute("SELECT COUNT(*) FROM notices WHERE status = 'ready'").fetchone()[0] == 1
    assert db.execute("SELECT COUNT(*) FROM audio_assets").fetchone()[0] == 1
    # 3 a day for 7 days, less today's times already past (so 18–21, by the time of day the test runs).
    assert 18 <= db.execute("SELECT COUNT(*) FROM fires").fetchone()[0] <= 21
