"""The ledger's rules held by the database itself, below the application."""
import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError, OperationalError

from bank.database import db


def test_the_database_refuses_a_negative_balance(app, new_account):
    account = new_account(deposit="1.00")
    with app.app_context():
        with pytest.raises((IntegrityError, OperationalError)):
            db.session.execute(text("UPDATE accounts SET balance_cents = -1 WHERE acc_id = :id"), {"id": account["acc_id"]})
            db.session.commit()
        db.session.rollback()
        assert db.session.execute(text("SELECT balance_cents FROM accounts WHERE acc_id = :id"),
                                  {"id": account["acc_id"]}).scalar() == 100


def test_the_database_refuses_a_second_use_of_an_idempotency_key(app, teller, new_account):
    source, target = new_account(deposit="10.00"), new_account(deposit="0.00")
    teller.post("/api/v1/transfers", json={"from": source["acc_id"], "to": target["acc_id"], "amount": "1.00"},
                headers={"Idempotency-Key": "once"})
    with app.app_context():
        row = db.session.execute(text("SELECT from_acc_id, to_acc_id, staff_id FROM transfers")).one()
        with pytest.raises(IntegrityError):
            db.session.execute(text(
                "INSERT INTO transfers (from_acc_id, to_acc_id, amount_cents, staff_id, idempotency_key, time_stamp) "
                "VALUES (:f, :t, 100, :s, 'once', CURRENT_TIMESTAMP)"), {"f": row[0], "t": row[1], "s": row[2]})
            db.session.commit()
        db.session.rollback()


def test_a_transaction_row_needs_an_existing_account(app):
    with app.app_context():
        with pytest.raises(IntegrityError):
            db.session.execute(text(
                "INSERT INTO transactions (acc_id, kind, amount_cents, balance_after_cents, message, time_stamp) "
                "VALUES (360199999, 'deposit', 1, 1, '', CURRENT_TIMESTAMP)"))
            db.session.commit()
        db.session.rollback()
