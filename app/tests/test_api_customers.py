"""/api/v1/customers: executives create, read, edit, deactivate and reactivate customers."""
import pytest

GOOD = {"ssn_id": "123456789", "name": "Grace Hopper", "address": "1 Navy Yard", "age": 45,
        "state": "Virginia", "city": "Arlington"}


def test_an_executive_creates_a_customer_numbered_from_110110000(executive):
    response = executive.post("/api/v1/customers", json=GOOD)
    assert response.status_code == 201
    body = response.json
    assert body["cust_id"] == 110110000
    assert {k: body[k] for k in GOOD} == GOOD
    assert body["status"] == "active"
    assert body["accounts"] == []
    second = executive.post("/api/v1/customers", json={**GOOD, "ssn_id": "123456780"})
    assert second.json["cust_id"] == 110110001


def test_text_fields_are_trimmed_and_numbers_may_arrive_as_text(executive):
    response = executive.post("/api/v1/customers", json={**GOOD, "name": "  Grace   Hopper ", "age": "45",
                                                         "ssn_id": 123456789})
    assert response.status_code == 201
    assert response.json["name"] == "Grace Hopper"
    assert response.json["age"] == 45
    assert response.json["ssn_id"] == "123456789"


@pytest.mark.parametrize("change, field, expected", [
    ({"ssn_id": "12345678"}, "ssn_id", "9 digits"),
    ({"ssn_id": "12345678a"}, "ssn_id", "9 digits"),
    ({"ssn_id": None}, "ssn_id", "required"),
    ({"name": ""}, "name", "required"),
    ({"name": "   "}, "name", "required"),
    ({"name": 12}, "name", "string"),
    ({"name": "x" * 101}, "name", "at most 100"),
    ({"address": "y" * 201}, "address", "at most 200"),
    ({"age": -1}, "age", "0 to 150"),
    ({"age": 151}, "age", "0 to 150"),
    ({"age": 30.5}, "age", "0 to 150"),
    ({"age": True}, "age", "0 to 150"),
    ({"age": "old"}, "age", "0 to 150"),
    ({"state": ""}, "state", "required"),
    ({"city": ["Paris"]}, "city", "string"),
    ({"colour": "blue"}, "colour", "not a known field"),
])
def test_each_invalid_field_is_named_in_a_400(executive, change, field, expected):
    response = executive.post("/api/v1/customers", json={**GOOD, **change})
    assert response.status_code == 400
    assert response.json["error"].startswith(f"{field}: ")
    assert expected in response.json["error"]


@pytest.mark.parametrize("missing", ["ssn_id", "name", "address", "age", "state", "city"])
def test_a_missing_field_is_named(executive, missing):
    body = {k: v for k, v in GOOD.items() if k != missing}
    response = executive.post("/api/v1/customers", json=body)
    assert response.status_code == 400
    assert response.json == {"error": f"{missing}: is required"}


@pytest.mark.parametrize("data, content_type", [
    ("not json", "application/json"), ('["a list"]', "application/json"), ("ssn_id=1", "application/x-www-form-urlencoded"),
])
def test_a_body_that_is_not_a_json_object_is_refused(executive, data, content_type):
    response = executive.post("/api/v1/customers", data=data, headers={"Content-Type": content_type})
    assert response.status_code == 400
    assert response.json["error"].startswith("body: ")


def test_a_second_customer_with_the_same_ssn_id_is_a_409(executive):
    assert executive.post("/api/v1/customers", json=GOOD).status_code == 201
    response = executive.post("/api/v1/customers", json={**GOOD, "name": "Someone Else"})
    assert response.status_code == 409
    assert response.json["error"].startswith("ssn_id: ")


def test_every_staff_role_reads_a_customer(executive, teller, cashier, new_customer):
    customer = new_customer()
    masked = {**customer, "ssn_id": "*****" + customer["ssn_id"][-4:]}
    for speaker, expected in ((executive, customer), (teller, masked), (cashier, masked)):
        response = speaker.get(f"/api/v1/customers/{customer['cust_id']}")
        assert response.status_code == 200
        assert response.json == expected


def test_an_unknown_customer_is_a_404(executive):
    response = executive.get("/api/v1/customers/110119999")
    assert response.status_code == 404
    assert response.json == {"error": "customer 110119999 not found"}
    assert executive.patch("/api/v1/customers/110119999", json={"name": "X"}).status_code == 404
    assert executive.delete("/api/v1/customers/110119999").status_code == 404
    assert executive.post("/api/v1/customers/110119999/activate").status_code == 404


def test_an_executive_edits_some_fields_and_the_log_says_which(executive, new_customer):
    customer = new_customer()
    response = executive.patch(f"/api/v1/customers/{customer['cust_id']}", json={"address": "2 New Road", "age": 37})
    assert response.status_code == 200
    assert response.json["address"] == "2 New Road"
    assert response.json["age"] == 37
    assert response.json["name"] == customer["name"]
    log = executive.get("/api/v1/customerlog").json
    assert log[0]["cust_id"] == customer["cust_id"]
    assert log[0]["action"] == "updated"
    assert log[0]["message"] == "Customer updated: address, age"
    assert log[0]["staff"] == "executive"


@pytest.mark.parametrize("body, field", [
    ({"ssn_id": "999999999"}, "ssn_id"), ({"status": "deactivated"}, "status"), ({}, "body"),
    ({"age": 200}, "age"), ({"name": ""}, "name"),
])
def test_an_edit_refuses_what_cannot_change(executive, new_customer, body, field):
    customer = new_customer()
    response = executive.patch(f"/api/v1/customers/{customer['cust_id']}", json=body)
    assert response.status_code == 400
    assert response.json["error"].startswith(f"{field}: ")


def test_delete_deactivates_and_activate_brings_back(executive, new_customer):
    customer = new_customer()
    url = f"/api/v1/customers/{customer['cust_id']}"
    response = executive.delete(url)
    assert response.status_code == 200
    assert response.json["status"] == "deactivated"
    assert executive.get(url).json["status"] == "deactivated"
    again = executive.delete(url)
    assert again.status_code == 422
    assert "already deactivated" in again.json["error"]
    back = executive.post(url + "/activate")
    assert back.status_code == 200
    assert back.json["status"] == "active"
    assert executive.post(url + "/activate").status_code == 422
    actions = [entry["action"] for entry in executive.get("/api/v1/customerlog").json if entry["cust_id"] == customer["cust_id"]]
    assert actions == ["activated", "deactivated", "created"]


def test_a_customer_with_an_active_account_cannot_be_deactivated(executive, new_account):
    account = new_account(deposit="0.00")
    response = executive.delete(f"/api/v1/customers/{account['cust_id']}")
    assert response.status_code == 422
    assert str(account["acc_id"]) in response.json["error"]
    assert executive.delete(f"/api/v1/accounts/{account['acc_id']}").status_code == 200
    assert executive.delete(f"/api/v1/customers/{account['cust_id']}").status_code == 200


@pytest.mark.parametrize("role", ["teller", "cashier"])
def test_tellers_and_cashiers_cannot_change_customers(request, role, new_customer):
    speaker = request.getfixturevalue(role)
    customer = new_customer()
    url = f"/api/v1/customers/{customer['cust_id']}"
    for response in (
        speaker.post("/api/v1/customers", json={**GOOD, "ssn_id": "555555555"}),
        speaker.patch(url, json={"name": "X"}),
        speaker.delete(url),
        speaker.post(url + "/activate"),
        speaker.get("/api/v1/customerlog"),
    ):
        assert response.status_code == 403
        assert "executive" in response.json["error"]


def test_the_customer_log_is_json_newest_first_with_a_limit(executive, new_customer):
    ids = [new_customer()["cust_id"] for _ in range(3)]
    log = executive.get("/api/v1/customerlog").json
    assert [entry["cust_id"] for entry in log] == ids[::-1]
    assert set(log[0]) == {"log_id", "cust_id", "action", "message", "staff", "time_stamp"}
    assert len(executive.get("/api/v1/customerlog?limit=2").json) == 2
    bad = executive.get("/api/v1/customerlog?limit=0")
    assert bad.status_code == 400
    assert bad.json["error"].startswith("limit: ")
