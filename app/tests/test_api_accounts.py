"""/api/v1/accounts: executives open, close and reactivate accounts; every role reads them."""
import pytest


def test_an_executive_opens_an_account_numbered_from_360110000(executive, new_customer):
    customer = new_customer()
    response = executive.post("/api/v1/accounts", json={"cust_id": customer["cust_id"], "type": "savings"})
    assert response.status_code == 201
    body = response.json
    assert body["acc_id"] == 360110000
    assert (body["cust_id"], body["type"], body["balance"], body["status"]) == (customer["cust_id"], "savings", "0.00", "active")
    current = executive.post("/api/v1/accounts", json={"cust_id": customer["cust_id"], "type": "current", "deposit": "0.00"})
    assert current.json["acc_id"] == 360110001
    assert current.json["balance"] == "0.00"
    assert executive.get(f"/api/v1/customers/{customer['cust_id']}").json["accounts"] == [360110000, 360110001]


def test_a_new_account_has_no_transactions_until_cash_is_deposited(executive, new_account):
    empty = new_account(deposit="0.00")
    assert executive.get(f"/api/v1/accounts/{empty['acc_id']}/transactions").json["transactions"] == []
    funded = new_account(deposit="10.00")
    rows = executive.get(f"/api/v1/accounts/{funded['acc_id']}/transactions").json["transactions"]
    assert [(r["kind"], r["amount"], r["balance_after"]) for r in rows] == [("deposit", "10.00", "10.00")]


def test_opening_is_written_to_the_account_log(executive, new_account):
    account = new_account(deposit="0.00", type="current")
    log = executive.get("/api/v1/accountlog").json
    assert log[0]["acc_id"] == account["acc_id"]
    assert log[0]["cust_id"] == account["cust_id"]
    assert (log[0]["action"], log[0]["status"], log[0]["staff"]) == ("opened", "active", "executive")
    assert log[0]["message"] == "Current account opened"


@pytest.mark.parametrize("change, field, expected", [
    ({"cust_id": None}, "cust_id", "required"),
    ({"cust_id": "abc"}, "cust_id", "whole number"),
    ({"cust_id": 0}, "cust_id", "whole number"),
    ({"type": "checking"}, "type", "savings, current"),
    ({"type": None}, "type", "required"),
    ({"deposit": "-5.00"}, "deposit", "decimal string"),
    ({"deposit": 5}, "deposit", "decimal string"),
    ({"deposit": "1.001"}, "deposit", "decimal string"),
    ({"deposit": "1000000000.01"}, "deposit", "at most"),
    ({"overdraft": "100.00"}, "overdraft", "not a known field"),
])
def test_each_invalid_field_is_named_in_a_400(executive, new_customer, change, field, expected):
    body = {"cust_id": new_customer()["cust_id"], "type": "savings", **change}
    response = executive.post("/api/v1/accounts", json=body)
    assert response.status_code == 400
    assert response.json["error"].startswith(f"{field}: ")
    assert expected in response.json["error"]


def test_an_account_for_an_unknown_customer_is_a_404(executive):
    response = executive.post("/api/v1/accounts", json={"cust_id": 110199999, "type": "savings"})
    assert response.status_code == 404
    assert "customer 110199999" in response.json["error"]


def test_a_deactivated_customer_gets_no_new_account(executive, new_customer):
    customer = new_customer()
    executive.delete(f"/api/v1/customers/{customer['cust_id']}")
    response = executive.post("/api/v1/accounts", json={"cust_id": customer["cust_id"], "type": "savings"})
    assert response.status_code == 422
    assert "deactivated" in response.json["error"]


def test_every_role_reads_an_account_as_documented(executive, teller, cashier, new_account):
    account = new_account(deposit="99.99")
    for speaker in (executive, teller, cashier):
        response = speaker.get(f"/api/v1/accounts/{account['acc_id']}")
        assert response.status_code == 200
        body = response.json
        assert {k: body[k] for k in ("acc_id", "cust_id", "type", "balance", "status")} == {
            "acc_id": account["acc_id"], "cust_id": account["cust_id"], "type": "savings",
            "balance": "99.99", "status": "active"}
    assert executive.get("/api/v1/accounts/360199999").status_code == 404


def test_an_account_with_money_cannot_be_closed(executive, teller, new_account):
    account = new_account(deposit="5.00")
    url = f"/api/v1/accounts/{account['acc_id']}"
    refused = executive.delete(url)
    assert refused.status_code == 422
    assert "5.00" in refused.json["error"]
    assert teller.post(url + "/withdraw", json={"amount": "5.00"}).status_code == 200
    closed = executive.delete(url)
    assert closed.status_code == 200
    assert closed.json["status"] == "closed"
    assert executive.delete(url).status_code == 422


def test_a_closed_account_is_reactivated_unless_its_customer_is_deactivated(executive, new_account):
    account = new_account(deposit="0.00")
    url = f"/api/v1/accounts/{account['acc_id']}"
    executive.delete(url)
    executive.delete(f"/api/v1/customers/{account['cust_id']}")
    refused = executive.post(url + "/activate")
    assert refused.status_code == 422
    assert "deactivated" in refused.json["error"]
    executive.post(f"/api/v1/customers/{account['cust_id']}/activate")
    back = executive.post(url + "/activate")
    assert back.status_code == 200
    assert back.json["status"] == "active"
    assert executive.post(url + "/activate").status_code == 422
    log = [e for e in executive.get("/api/v1/accountlog").json if e["acc_id"] == account["acc_id"]]
    assert [(e["action"], e["status"]) for e in log] == [("activated", "active"), ("closed", "closed"), ("opened", "active")]


def test_unknown_accounts_are_404_for_every_verb(executive):
    for response in (executive.delete("/api/v1/accounts/360199999"),
                     executive.post("/api/v1/accounts/360199999/activate")):
        assert response.status_code == 404
        assert response.json == {"error": "account 360199999 not found"}


@pytest.mark.parametrize("role", ["teller", "cashier"])
def test_tellers_and_cashiers_cannot_open_or_close_accounts(request, role, new_account):
    speaker = request.getfixturevalue(role)
    account = new_account(deposit="0.00")
    for response in (
        speaker.post("/api/v1/accounts", json={"cust_id": account["cust_id"], "type": "savings", "deposit": "1.00"}),
        speaker.delete(f"/api/v1/accounts/{account['acc_id']}"),
        speaker.post(f"/api/v1/accounts/{account['acc_id']}/activate"),
        speaker.get("/api/v1/accountlog"),
    ):
        assert response.status_code == 403


def test_the_account_log_is_json_with_a_limit(executive, new_account):
    for _ in range(3):
        new_account()
    log = executive.get("/api/v1/accountlog?limit=2").json
    assert len(log) == 2
    assert set(log[0]) == {"log_id", "acc_id", "cust_id", "action", "status", "message", "staff", "time_stamp"}
    assert executive.get("/api/v1/accountlog?limit=x").status_code == 400
