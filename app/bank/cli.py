"""`flask --app bank ...` commands: migrate, downgrade, new-migration, create-staff, reset-password,
disable-staff, enable-staff, create-token, list-tokens, revoke-token, seed-demo."""
import os
import sys

import click
from flask.cli import with_appcontext
from sqlalchemy.exc import OperationalError

from .database import db
from .errors import BankError
from .migrate import MigrationError
from .models import Customer, Staff


def init_app(app):
    for command in (migrate_command, downgrade_command, new_migration_command, create_staff_command,
                    reset_password, disable_staff, enable_staff, create_token, list_tokens, revoke_token_command,
                    seed_demo):
        app.cli.add_command(command)


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
    except OperationalError as error:
        # One line that says what the server or the TLS check said (bank.db_tls names the setting).
        raise click.ClickException(f"the database: {error.orig}") from None
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

    password = _password_input()
    _require_current_schema()
    try:
        staff = create_staff(username, role, password)
    except BankError as error:
        raise click.ClickException(error.message) from None
    click.echo(f"created {staff.role} {staff.username}")


def _password_input():
    password = os.environ.get("BANK_STAFF_PASSWORD")
    if password is None:
        if sys.stdin.isatty():
            password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
        else:
            password = sys.stdin.readline().rstrip("\r\n")
    return password


def _staff_command(action):
    try:
        return action()
    except BankError as error:
        raise click.ClickException(error.message) from None


@click.command("reset-password")
@click.argument("username")
@with_appcontext
def reset_password(username):
    """Give a staff user a new password (BANK_STAFF_PASSWORD or stdin); their sessions end."""
    from .staff import set_password

    password = _password_input()
    _staff_command(lambda: set_password(username, password))
    click.echo(f"password of {username} changed; every session of {username} has ended")


@click.command("disable-staff")
@click.argument("username")
@with_appcontext
def disable_staff(username):
    """Disable a staff user: no login, every session ends, every API token is revoked."""
    from .staff import set_active

    _staff_command(lambda: set_active(username, False))
    click.echo(f"{username} disabled; sessions ended and API tokens revoked")


@click.command("enable-staff")
@click.argument("username")
@with_appcontext
def enable_staff(username):
    """Let a disabled staff user log in again (revoked API tokens stay revoked)."""
    from .staff import set_active

    _staff_command(lambda: set_active(username, True))
    click.echo(f"{username} enabled")


@click.command("create-token")
@click.argument("username")
@click.option("--name", required=True, help="what the token is for, e.g. the job that uses it")
@with_appcontext
def create_token(username, name):
    """Make an API token for a staff user's machine client; it is printed once, only its hash is kept."""
    from .credentials import issue_token
    from .staff import find_staff

    staff = _staff_command(lambda: find_staff(username))
    if not staff.active:
        raise click.ClickException(f"username: {username} is disabled")
    row, token = issue_token(staff, name)
    click.echo(f"token {row.token_id} for {staff.username} ({staff.role}), {row.name!r}; it is shown only now:")
    click.echo(token)


@click.command("list-tokens")
@with_appcontext
def list_tokens():
    """Every API token: number, staff user, name, when made and last used, revoked or not (never the token)."""
    from .models import ApiToken

    rows = db.session.query(ApiToken, Staff.username).join(Staff, Staff.staff_id == ApiToken.staff_id)
    for token, username in rows.order_by(ApiToken.token_id):
        used = f"{token.last_used_at:%Y-%m-%d %H:%M}" if token.last_used_at else "never"
        state = f"revoked {token.revoked_at:%Y-%m-%d %H:%M}" if token.revoked_at else "active"
        click.echo(f"{token.token_id}\t{username}\t{token.name}\tmade {token.created_at:%Y-%m-%d %H:%M}"
                   f"\tlast used {used}\t{state}")


@click.command("revoke-token")
@click.argument("token_id", type=click.IntRange(min=1))
@with_appcontext
def revoke_token_command(token_id):
    """Revoke an API token by its number (create-token printed it)."""
    from .credentials import revoke_token

    _staff_command(lambda: revoke_token(token_id))
    click.echo(f"token {token_id} revoked")


_DEMO_CUSTOMERS = [
    ("100000001", "Asha Rao", "12 Lake Road", 34, "Karnataka", "Bengaluru", [("savings", 250000), ("current", 920050)]),
    ("100000002", "Daniel Okafor", "4 Mill Lane", 51, "Lagos", "Ikeja", [("savings", 98000)]),
    ("100000003", "Maria Fernandes", "77 Rua Augusta", 28, "Lisboa", "Lisbon", [("current", 4500)]),
]


@click.command("seed-demo")
@with_appcontext
def seed_demo():
    """Demo customers and accounts (skipped for SSN ids that already exist)."""
    from .customers import create_customer, open_account
    from .ledger import deposit

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
            # As at the bank: an empty account, then the customer's cash (below the approval limit).
            account = open_account(customer.cust_id, kind, robot)
            deposit(account.acc_id, cents, robot)
        created += 1
    click.echo(f"demo data: {created} customers created")
