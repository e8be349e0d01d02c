"""Deposits, withdrawals and transfers through the API: the money rules and who may move money."""
import pytest

from bank.database import db
from bank.models import Transaction


def balance(speaker, acc_id):
    return speaker.get(f"/api/v1/accounts/{acc_id}").json["balance"]


def rows(app):
    with app.app_context():
        return db.session.query(Transaction).count()


@pytest.mark.parametrize("role", ["teller", "cashier"])
def test_tellers_and_cashiers_deposit_and_withdraw(request, role, new_account):
    speaker = request.getfixturevalue(role)
    account = new_account(deposit="100.00")
    url = f"/api/v1/accounts/{account['acc_id']}"
    deposited = speaker.post(url + "/deposit", json={"amount": "0.05"})
    assert deposited.status_code == 200
    assert deposited.json["balance"] == "100.05"
    assert deposited.json["acc_id"] == account["acc_id"]
    withdrawn = speaker.post(url + "/withdraw", json={"amount": "100.05"})
    assert withdrawn.status_code == 200
    assert withdrawn.json["balance"] == "0.00"
    history = speaker.get(url + "/transactions").json["transactions"]
    assert [(r["kind"], r["amount"], r["balance_after"]) for r in history] == [
        ("deposit", "100.00", "100.00"), ("deposit", "0.05", "100.05"), ("withdrawal", "-100.05", "0.00")]


def test_executives_do_not_move_money(executive, new_account):
    account = new_account()
    other = new_account()
    for response in (
        executive.post(f"/api/v1/accounts/{account['acc_id']}/deposit", json={"amount": "1.00"}),
        executive.post(f"/api/v1/accounts/{account['acc_id']}/withdraw", json={"amount": "1.00"}),
        executive.post("/api/v1/transfers", json={"from": account["acc_id"], "to": other["acc_id"], "amount": "1.00"}),
    ):
        assert response.status_code == 403
        assert "teller or cashier" in response.json["error"]
    assert balance(executive, account["acc_id"]) == "100.00"


@pytest.mark.parametrize("body, expected", [
    ({}, "amount: is required"),
    ({"amount": 5}, "amount: must be a decimal string"),
    ({"amount": "5.001"}, "amount: must be a decimal string"),
    ({"amount": "-5.00"}, "amount: must be a decimal string"),
    ({"amount": "0.00"}, "amount: must be greater than 0.00"),
    ({"amount": "1000000000.01"}, "amount: must be at most 1000000000.00"),
    ({"amount": "5.00", "note": "x"}, "note: is not a known field"),
])
@pytest.mark.parametrize("operation", ["deposit", "withdraw"])
def test_a_bad_amount_is_a_400_naming_it_and_moves_nothing(app, teller, new_account, operation, body, expected):
    account = new_account(deposit="50.00")
    before = rows(app)
    response = teller.post(f"/api/v1/accounts/{account['acc_id']}/{operation}", json=body)
    assert response.status_code == 400
    assert response.json["error"].startswith(expected)
    assert balance(teller, account["acc_id"]) == "50.00"
    assert rows(app) == before


def test_the_largest_amount_is_accepted(app, teller, new_account, monkeypatch):
    monkeypatch.setitem(app.config, "APPROVAL_LIMIT_CENTS", 1_000_000_000_00)  # no second person needed here
    account = new_account(deposit="0.00")
    response = teller.post(f"/api/v1/accounts/{account['acc_id']}/deposit", json={"amount": "1000000000.00"})
    assert response.status_code == 200
    assert response.json["balance"] == "1000000000.00"


def test_a_withdrawal_beyond_the_balance_is_refused_and_changes_nothing(app, teller, new_account):
    account = new_account(deposit="20.00")
    before = rows(app)
    response = teller.post(f"/api/v1/accounts/{account['acc_id']}/withdraw", json={"amount": "20.01"})
    assert response.status_code == 422
    assert "insufficient funds" in response.json["error"]
    assert balance(teller, account["acc_id"]) == "20.00"
    assert rows(app) == before
    assert teller.post(f"/api/v1/accounts/{account['acc_id']}/withdraw", json={"amount": "20.00"}).json["balance"] == "0.00"


def test_a_closed_account_takes_no_money(executive, teller, new_account):
    account = new_account(deposit="0.00")
    executive.delete(f"/api/v1/accounts/{account['acc_id']}")
    for operation in ("deposit", "withdraw"):
        response = teller.post(f"/api/v1/accounts/{account['acc_id']}/{operation}", json={"amount": "1.00"})
        assert response.status_code == 422
        assert "closed" in response.json["error"]


def test_money_for_an_unknown_account_is_a_404(teller):
    response = teller.post("/api/v1/accounts/360199999/deposit", json={"amount": "1.00"})
    assert response.status_code == 404
    assert response.json == {"error": "account 360199999 not found"}


def test_a_transfer_moves_money_and_writes_two_rows(teller, new_account):
    source, target = new_account(deposit="100.00"), new_account(deposit="1.00")
    response = teller.post("/api/v1/transfers", json={"from": source["acc_id"], "to": target["acc_id"], "amount": "40.10"})
    assert response.status_code == 201
    body = response.json
    assert (body["from"], body["to"], body["amount"], body["from_balance"], body["to_balance"]) == (
        source["acc_id"], target["acc_id"], "40.10", "59.90", "41.10")
    out = teller.get(f"/api/v1/accounts/{source['acc_id']}/transactions").json["transactions"][-1]
    into = teller.get(f"/api/v1/accounts/{target['acc_id']}/transactions").json["transactions"][-1]
    assert (out["kind"], out["amount"], out["counterparty_acc_id"], out["transfer_id"]) == (
        "transfer_out", "-40.10", target["acc_id"], body["transfer_id"])
    assert (into["kind"], into["amount"], into["counterparty_acc_id"], into["transfer_id"]) == (
        "transfer_in", "40.10", source["acc_id"], body["transfer_id"])


def test_a_transfer_works_in_either_direction_of_the_lock_order(cashier, new_account):
    low, high = new_account(deposit="10.00"), new_account(deposit="10.00")
    assert cashier.post("/api/v1/transfers", json={"from": high["acc_id"], "to": low["acc_id"], "amount": "10.00"}).status_code == 201
    assert (balance(cashier, low["acc_id"]), balance(cashier, high["acc_id"])) == ("20.00", "0.00")


@pytest.mark.parametrize("case, status, expected", [
    ("insufficient", 422, "insufficient funds"),
    ("same", 422, "same account"),
    ("closed_target", 422, "closed"),
    ("closed_source", 422, "closed"),
    ("unknown_target", 404, "not found"),
])
def test_a_refused_transfer_moves_nothing(app, executive, teller, new_account, case, status, expected):
    source, target = new_account(deposit="30.00"), new_account(deposit="0.00")
    body = {"from": source["acc_id"], "to": target["acc_id"], "amount": "10.00"}
    if case == "insufficient":
        body["amount"] = "30.01"
    elif case == "same":
        body["to"] = source["acc_id"]
    elif case == "closed_target":
        executive.delete(f"/api/v1/accounts/{target['acc_id']}")
    elif case == "closed_source":
        empty = new_account(deposit="0.00")
        executive.delete(f"/api/v1/accounts/{empty['acc_id']}")
        body["from"] = empty["acc_id"]
    elif case == "unknown_target":
        body["to"] = 360199999
    before = rows(app)
    response = teller.post("/api/v1/transfers", json=body)
    assert response.status_code == status
    assert expected in response.json["error"]
    assert rows(app) == before
    assert balance(teller, source["acc_id"]) == "30.00"


@pytest.mark.parametrize("body, field", [
    ({"to": 360110001, "amount": "1.00"}, "from"),
    ({"from": 360110000, "amount": "1.00"}, "to"),
    ({"from": "x", "to": 360110001, "amount": "1.00"}, "from"),
    ({"from": 360110000, "to": 360110001}, "amount"),
    ({"from": 360110000, "to": 360110001, "amount": "0"}, "amount"),
    ({"from": 360110000, "to": 360110001, "amount": 1}, "amount"),
    ({"from": 360110000, "to": 360110001, "amount": "1.00", "memo": "x"}, "memo"),
])
def test_a_malformed_transfer_is_a_400_naming_the_field(teller, body, field):
    response = teller.post("/api/v1/transfers", json=body)
    assert response.status_code == 400
    assert response.json["error"].startswith(f"{field}: ")


def test_a_retried_transfer_with_the_same_idempotency_key_moves_money_once(app, teller, new_account):
    source, target = new_account(deposit="100.00"), new_account(deposit="0.00")
    body = {"from": source["acc_id"], "to": target["acc_id"], "amount": "25.00"}
    first = teller.post("/api/v1/transfers", json=body, headers={"Idempotency-Key": "order-7781"})
    before = rows(app)
    second = teller.post("/api/v1/transfers", json=body, headers={"Idempotency-Key": "order-7781"})
    assert first.status_code == second.status_code == 201
    assert second.json == first.json
    assert second.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert rows(app) == before
    assert balance(teller, source["acc_id"]) == "75.00"
    third = teller.post("/api/v1/transfers", json=body, headers={"Idempotency-Key": "order-7782"})
    assert third.json["transfer_id"] != first.json["transfer_id"]
    assert balance(teller, source["acc_id"]) == "50.00"


def test_an_idempotency_key_reused_for_another_transfer_is_a_422(teller, new_account):
    source, target = new_account(deposit="100.00"), new_account(deposit="0.00")
    teller.post("/api/v1/transfers", json={"from": source["acc_id"], "to": target["acc_id"], "amount": "1.00"},
                headers={"Idempotency-Key": "k-1"})
    response = teller.post("/api/v1/transfers", json={"from": source["acc_id"], "to": target["acc_id"], "amount": "2.00"},
                           headers={"Idempotency-Key": "k-1"})
    assert response.status_code == 422
    assert "Idempotency-Key" in response.json["error"]
    assert balance(teller, source["acc_id"]) == "99.00"


def test_idempotency_keys_belong_to_one_staff_user(teller, cashier, new_account):
    source, target = new_account(deposit="100.00"), new_account(deposit="0.00")
    body = {"from": source["acc_id"], "to": target["acc_id"], "amount": "1.00"}
    teller.post("/api/v1/transfers", json=body, headers={"Idempotency-Key": "shared"})
    response = cashier.post("/api/v1/transfers", json=body, headers={"Idempotency-Key": "shared"})
    assert response.status_code == 201
    assert "Idempotent-Replayed" not in response.headers
    assert balance(teller, source["acc_id"]) == "98.00"


@pytest.mark.parametrize("key", ["", "x" * 256, "naïve"])
def test_a_malformed_idempotency_key_is_a_400(teller, new_account, key):
    source, target = new_account(deposit="100.00"), new_account(deposit="0.00")
    response = teller.post("/api/v1/transfers", json={"from": source["acc_id"], "to": target["acc_id"], "amount": "1.00"},
                           headers={"Idempotency-Key": key.encode("utf-8").decode("latin-1")})
    assert response.status_code == 400
    assert response.json["error"].startswith("Idempotency-Key: ")


@pytest.mark.parametrize("operation, amount, after", [("deposit", "5.00", "105.00"), ("withdraw", "5.00", "95.00")])
def test_a_retried_deposit_or_withdrawal_with_the_same_key_moves_money_once(app, teller, new_account, operation, amount, after):
    account = new_account(deposit="100.00")
    url = f"/api/v1/accounts/{account['acc_id']}/{operation}"
    first = teller.post(url, json={"amount": amount}, headers={"Idempotency-Key": "till-42"})
    before = rows(app)
    second = teller.post(url, json={"amount": amount}, headers={"Idempotency-Key": "till-42"})
    assert first.status_code == second.status_code == 200
    assert second.json == first.json == {"acc_id": account["acc_id"], "balance": after, "trans_id": first.json["trans_id"]}
    assert second.headers["Idempotent-Replayed"] == "true"
    assert rows(app) == before
    assert balance(teller, account["acc_id"]) == after


def test_a_deposit_key_reused_for_another_amount_is_a_422(teller, new_account):
    account = new_account(deposit="100.00")
    url = f"/api/v1/accounts/{account['acc_id']}"
    teller.post(url + "/deposit", json={"amount": "1.00"}, headers={"Idempotency-Key": "slip-1"})
    for path, body in (("/deposit", {"amount": "2.00"}), ("/withdraw", {"amount": "1.00"})):
        response = teller.post(url + path, json=body, headers={"Idempotency-Key": "slip-1"})
        assert response.status_code == 422
        assert "Idempotency-Key" in response.json["error"]
    assert balance(teller, account["acc_id"]) == "101.00"


def test_a_refused_withdrawal_does_not_use_up_its_key(teller, new_account):
    account = new_account(deposit="10.00")
    url = f"/api/v1/accounts/{account['acc_id']}/withdraw"
    assert teller.post(url, json={"amount": "10.01"}, headers={"Idempotency-Key": "w-1"}).status_code == 422
    retried = teller.post(url, json={"amount": "10.00"}, headers={"Idempotency-Key": "w-1"})
    assert retried.status_code == 200
    assert retried.json["balance"] == "0.00"
