"""`flask --app bank ...` commands: migrate, downgrade, new-migration, create-staff, seed-demo."""
import os
import sys

import click
from flask.cli import with_appcontext

from .database import db
from .errors import BankError
from .migrate import MigrationError
from .models import Customer, Staff


def init_app(app):
    app.cli.add_command(migrate_command)
    app.cli.add_command(downgrade_command)
    app.cli.add_command(new_migration_command)
    app.cli.add_command(create_staff_command)
    app.cli.add_command(seed_demo)


def _require_current_schema():
    from . import migrate

    try:
        migrate.require_current()
    except MigrationError as error:
        raise click.ClickException(str(error)) from None


@click.command("migrate")
@click.option("--revision", default="head", show_default=True, help="the revision to upgrade to")
@with_appcontext
def migrate_command(revision):
    """Create or upgrade the schema (one process at a time per database; safe to run again)."""
    from . import migrate

    try:
        before, after = migrate.upgrade(revision)
    except MigrationError as error:
        raise click.ClickException(str(error)) from None
    click.echo(migrate.describe(before, after))


@click.command("downgrade")
@click.argument("revision")
@with_appcontext
def downgrade_command(revision):
    """Take the schema back to REVISION (-1: one step); data in what is dropped is lost."""
    from . import migrate

    try:
        before, after = migrate.downgrade(revision)
    except MigrationError as error:
        raise click.ClickException(str(error)) from None
    click.echo(migrate.describe(before, after))


@click.command("new-migration")
@click.argument("message")
@click.option("--empty", is_flag=True, help="write an empty revision instead of comparing the models with the database")
@with_appcontext
def new_migration_command(message, empty):
    """Write the next revision under bank/migrations/versions, from what the models declare and the
    database (at head) lacks. Read it before committing it."""
    from . import migrate

    if not empty:
        _require_current_schema()
    click.echo(f"wrote {migrate.new_revision(message, autogenerate=not empty)}")


@click.command("create-staff")
@click.argument("username")
@click.argument("role")
@with_appcontext
def create_staff_command(username, role):
    """Create a staff user; the password comes from BANK_STAFF_PASSWORD or stdin, never argv."""
    from .staff import create_staff

    password = os.environ.get("BANK_STAFF_PASSWORD")
    if password is None:
        if sys.stdin.isatty():
            password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
        else:
            password = sys.stdin.readline().rstrip("\r\n")
    _require_current_schema()
    try:
        staff = create_staff(username, role, password)
    except BankError as error:
        raise click.ClickException(error.message) from None
    click.echo(f"created {staff.role} {staff.username}")


_DEMO_CUSTOMERS = [
    ("100000001", "Asha Rao", "12 Lake Road", 34, "Karnataka", "Bengaluru", [("savings", 250000), ("current", 1200050)]),
    ("100000002", "Daniel Okafor", "4 Mill Lane", 51, "Lagos", "Ikeja", [("savings", 98000)]),
    ("100000003", "Maria Fernandes", "77 Rua Augusta", 28, "Lisboa", "Lisbon", [("current", 4500)]),
]


@click.command("seed-demo")
@with_appcontext
def seed_demo():
    """Demo customers and accounts (skipped for SSN ids that already exist)."""
    from .customers import create_customer, open_account

    _require_current_schema()
    robot = db.session.query(Staff).filter_by(username="seed-demo").first()
    if robot is None:
        # Audit rows name a staff user; this one cannot log in (its hash matches no password).
        robot = Staff(username="seed-demo", role="executive", password_hash="!" * 60, active=False)
        db.session.add(robot)
        db.session.commit()
    created = 0
    for ssn, name, address, age, state, city, accounts in _DEMO_CUSTOMERS:
        if db.session.query(Customer).filter_by(ssn_id=ssn).first():
            continue
        customer = create_customer(
            {"ssn_id": ssn, "name": name, "address": address, "age": age, "state": state, "city": city}, robot
        )
        for kind, cents in accounts:
            open_account(customer.cust_id, kind, cents, robot)
        created += 1
    click.echo(f"demo data: {created} customers created")
