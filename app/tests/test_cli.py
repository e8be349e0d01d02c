"""`flask --app bank` commands: migrate, downgrade, create-staff, seed-demo (migrations: test_migrations.py)."""
import pytest
from sqlalchemy import text

from bank.database import db
from bank.models import Account, Customer, Staff
from bank.staff import authenticate


@pytest.fixture
def cli(app):
    return app.test_cli_runner()


def test_migrate_can_run_again(cli):
    from bank.migrate import head

    for _ in range(2):
        result = cli.invoke(args=["migrate"])
        assert result.exit_code == 0, result.output
        assert f"schema at revision {head()}: nothing to do" in result.output


def test_create_staff_reads_the_password_from_stdin(app, cli, monkeypatch):
    monkeypatch.delenv("BANK_STAFF_PASSWORD", raising=False)
    result = cli.invoke(args=["create-staff", "olga", "cashier"], input="a-long-enough-secret\n")
    assert result.exit_code == 0, result.output
    assert "created cashier olga" in result.output
    assert "a-long-enough-secret" not in result.output
    with app.test_request_context():
        assert authenticate("olga", "a-long-enough-secret", "127.0.0.1").role == "cashier"


def test_create_staff_reads_the_password_from_the_environment(app, cli, monkeypatch):
    monkeypatch.setenv("BANK_STAFF_PASSWORD", "another-long-secret")
    result = cli.invoke(args=["create-staff", "pavel", "executive"])
    assert result.exit_code == 0, result.output
    with app.test_request_context():
        assert authenticate("pavel", "another-long-secret", "127.0.0.1").role == "executive"


@pytest.mark.parametrize("args, password, message", [
    (["quinn", "manager"], "a-long-enough-secret", "role: must be one of executive, teller, cashier"),
    (["Q!", "teller"], "a-long-enough-secret", "username: must be 3 to 40 characters"),
    (["quinn", "teller"], "short", "password: must be at least 12 characters"),
    (["teller", "teller"], "a-long-enough-secret", "username: staff user 'teller' already exists"),
])
def test_create_staff_refuses_bad_input_with_a_clear_sentence(app, cli, monkeypatch, args, password, message):
    monkeypatch.setenv("BANK_STAFF_PASSWORD", password)
    result = cli.invoke(args=["create-staff", *args])
    assert result.exit_code == 1
    assert message in result.output
    assert password not in result.output


def test_seed_demo_creates_customers_once(app, cli):
    assert "3 customers created" in cli.invoke(args=["seed-demo"]).output
    assert "0 customers created" in cli.invoke(args=["seed-demo"]).output
    with app.app_context():
        assert db.session.query(Customer).count() == 3
        assert db.session.query(Account).count() == 4
        robot = db.session.query(Staff).filter_by(username="seed-demo").one()
        assert robot.active is False


def test_sqlite_runs_in_wal_mode_so_readers_do_not_wait(app):
    with app.app_context():
        if db.engine.dialect.name != "sqlite":
            assert db.session.execute(text("SELECT @@default_storage_engine")).scalar() == "InnoDB"
            return
        assert db.session.execute(text("PRAGMA journal_mode")).scalar() == "wal"
