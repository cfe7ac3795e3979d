"""Command line: ``flask --app wsgi <command>``. Every command has help text (``--help``)."""
from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext

from . import audit, migrations
from .accounts import users
from .db import connect


def _db():
    return connect(current_app.config["DATABASE"])


@click.command("migrate")
@with_appcontext
def migrate_command():
    """Apply pending database migrations (safe to run at any time)."""
    applied = migrations.apply(_db())
    click.echo(f"applied: {', '.join(applied)}" if applied else "database is up to date")


@click.command("create-user")
@with_appcontext
@click.argument("username")
@click.option("--role", type=click.Choice(users.ROLES), required=True, help="What the user may do.")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True, help="At least 8 characters.")
@click.option("--name", "display_name", default="", help="Name shown in the app.")
@click.option("--village", "village_ids", multiple=True, type=int, help="Village id (secretary, official).")
@click.option("--grid", "grid_ids", multiple=True, type=int, help="Grid id (grid worker).")
@click.option("--township", "township_ids", multiple=True, type=int, help="Township id (official).")
@click.option("--county", "county_ids", multiple=True, type=int, help="County id (official).")
def create_user_command(username, role, password, display_name, village_ids, grid_ids, township_ids, county_ids):
    """Create a user with a role and the area they may see."""
    db = _db()
    migrations.apply(db)
    scopes = {k: list(v) for k, v in (("village_id", village_ids), ("grid_id", grid_ids),
                                       ("township_id", township_ids), ("county_id", county_ids)) if v}
    try:
        user_id = users.create_user(db, username, password, role, display_name=display_name, scopes=scopes)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    audit.record(db, "user_created", object_type="user", object_id=user_id, via="cli", role=role)
    click.echo(f"created user {username} ({role})")


@click.command("seed-demo")
@with_appcontext
@click.option("--households", default=800, show_default=True, help="Households in the main demo village.")
def seed_demo_command(households):
    """Create the demo county (two villages, users for every role) if the database has no village."""
    from . import demo

    db = _db()
    migrations.apply(db)
    if demo.seed(db, households=households):
        from .demo_content import seed_content

        village = db.execute("SELECT id FROM villages WHERE name = '杨家坪村'").fetchone()[0]
        for line in seed_content(db, village, current_app.config["MEDIA_DIR"]):
            click.echo(line)
        click.echo(f"demo data created; every demo user's password is {demo.DEMO_PASSWORD!r}")
    else:
        click.echo("villages exist already; nothing seeded")


@click.command("compile-translations")
@with_appcontext
def compile_translations_command():
    """Compile the message catalogs (.po → .mo)."""
    from .i18n import compile_catalogs

    done = compile_catalogs(force=True)
    click.echo(f"compiled {len(done)} catalog(s)")


@click.command("worker")
@with_appcontext
def worker_command():
    """Run the worker: dispatches calls and texts (one per deployment; a second copy stays idle)."""
    import os

    from . import worker
    from .delivery.gateway import GatewayConfig

    config = GatewayConfig.from_env(public_base_url=current_app.config["PUBLIC_BASE_URL"])
    try:
        config.check()
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    worker.run(current_app.config["DATABASE"], os.path.join(current_app.instance_path, "worker.lock"), config,
               say=click.echo)


@click.command("field-sim")
@click.option("--households", default=800, show_default=True,
              help="Households in the demo village (800 ≈ 2,000 residents).")
@click.option("--seed", default=2020, show_default=True,
              help="Random seed: the same seed gives the same village and day.")
@click.option("--speed", default=60.0, show_default=True, help="Simulated seconds per real second while calls run.")
@click.option("--audience", type=click.Choice(("everyone", "elderly")), default="everyone", show_default=True,
              help="Who the 09:00 call campaign calls.")
@click.option("--lists", type=click.Choice(("unreached", "unacknowledged")), default="unreached", show_default=True,
              help="Grid workers' lists: the door-knock page (everyone not yet confirmed, visits and activity "
                   "in flight respected) or the whole roll call.")
@click.option("--workdir", type=click.Path(file_okay=False), default=None,
              help="Empty folder to keep the two simulated databases in (default: a temporary folder).")
def field_sim_command(households, seed, speed, audience, lists, workdir):
    """Simulate a full day in a fresh demo village (loudspeaker, calls with retries and SMS, door-knocking)
    next to a one-shot call blast; report the share of the elderly who acknowledged (RESULT lines).
    Never touches the configured database."""
    from . import create_app, fieldsim, fieldsim_report

    options = fieldsim.Options(households=households, seed=seed, speed=speed, audience=audience, lists=lists)
    try:
        report = fieldsim.simulate(lambda path: create_app(fieldsim.instance_config(path)), workdir, options,
                                   say=click.echo)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    for line in fieldsim_report.lines(report):
        click.echo(line)


def init_app(app):
    for command in (migrate_command, create_user_command, seed_demo_command, compile_translations_command,
                    worker_command, field_sim_command):
        app.cli.add_command(command)
