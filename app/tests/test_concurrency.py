"""Hundreds of concurrent transfers, withdrawals and deposits through a real gunicorn with several
workers: afterwards no balance is negative, money is conserved, and every transaction row is
accounted for, on MariaDB (production) and on SQLite (a laptop)."""
import itertools
import random
import threading
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from sqlalchemy import create_engine, text

from bank.money import format_cents
from servers import Gunicorn, app_env, flask_cli

ACCOUNTS = 6
OPENING_CENTS = 100_00
OPERATIONS = 600
CLIENT_THREADS = 24
STAFF = {"exec1": ("executive", "exec-password-123"), "teller1": ("teller", "teller-password-1"),
         "cashier1": ("cashier", "cashier-password-1")}


@pytest.fixture(params=["mariadb", "sqlite"])
def served(request, tmp_path):
    if request.param == "mariadb":
        url = request.getfixturevalue("mariadb").create_database("bank_concurrency")
    else:
        url = f"sqlite:///{tmp_path / 'bank.sqlite'}"
    env = app_env(url)
    flask_cli(env, "migrate")
    for username, (role, password) in STAFF.items():
        flask_cli(env, "create-staff", username, role, input_text=password + "\n")
        # Machine clients hold API tokens, not passwords (the last line create-token prints).
        TOKENS[username] = flask_cli(env, "create-token", username, "--name", "load test").stdout.split()[-1]
    server = Gunicorn(env, workers=4).start()
    yield server, url
    server.stop()
    assert "Traceback" not in server.logs(), server.logs()


TOKENS = {}


def _session(username):
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {TOKENS[username]}"
    return session


def test_concurrent_money_movements_keep_the_ledger_exact(served):
    server, url = served
    executive = _session("exec1")
    cust_id = executive.post(f"{server.url}/api/v1/customers", json={
        "ssn_id": "900000001", "name": "Load Test", "address": "1 Queue St", "age": 40, "state": "S", "city": "C"}).json()["cust_id"]
    acc_ids = [executive.post(f"{server.url}/api/v1/accounts", json={
        "cust_id": cust_id, "type": "current"}).json()["acc_id"] for _ in range(ACCOUNTS)]
    cashier = _session("cashier1")
    for acc_id in acc_ids:  # the opening cash
        assert cashier.post(f"{server.url}/api/v1/accounts/{acc_id}/deposit",
                            json={"amount": format_cents(OPENING_CENTS)}).status_code == 200

    rng = random.Random(20240601)
    plan = []
    for n in range(OPERATIONS):
        roll = rng.random()
        cents = rng.randint(1, 40_00)
        if roll < 0.6:
            step = ["transfer", *rng.sample(acc_ids, 2), cents]
        elif roll < 0.85:
            step = ["withdraw", rng.choice(acc_ids), None, cents]
        else:
            step = ["deposit", rng.choice(acc_ids), None, cents // 2 + 1]
        key = f"op-{n}-{uuid.uuid4().hex}" if rng.random() < 0.5 else None
        plan.append((*step, key))
        if key and rng.random() < 0.3:
            plan.append((*step, key))  # a client retry racing the original
    rng.shuffle(plan)

    local = threading.local()
    seats = itertools.cycle(["teller1", "cashier1"])
    seat_lock = threading.Lock()

    def perform(step):
        kind, acc_id, target, cents, key = step
        if not hasattr(local, "session"):
            with seat_lock:
                local.session = _session(next(seats))  # half the threads teller, half cashier
            local.teller = _session("teller1")
        # Keys are per staff user: every keyed request goes through one user so retries match.
        session = local.teller if key else local.session
        headers = {"Idempotency-Key": key} if key else {}
        if kind == "transfer":
            response = session.post(f"{server.url}/api/v1/transfers", headers=headers,
                                    json={"from": acc_id, "to": target, "amount": format_cents(cents)}, timeout=60)
        else:
            response = session.post(f"{server.url}/api/v1/accounts/{acc_id}/{kind}", headers=headers,
                                    json={"amount": format_cents(cents)}, timeout=60)
        return step, response.status_code, response.json()

    with ThreadPoolExecutor(CLIENT_THREADS) as pool:
        results = list(pool.map(perform, plan))

    outcomes = Counter(status for _, status, _ in results)
    assert set(outcomes) <= {200, 201, 422}, [r for r in results if r[1] not in (200, 201, 422)][:5]
    for _, status, body in results:
        if status == 422:
            assert "insufficient funds" in body["error"], body
    assert outcomes[422] > 0, "the plan should have run some accounts dry"

    # What actually happened, one entry per distinct result id: a replayed retry repeats an id.
    by_key, applied = {}, {}
    for (kind, _, _, cents, key), status, body in results:
        if status in (200, 201):
            ident = (kind == "transfer", body["transfer_id"] if kind == "transfer" else body["trans_id"])
            applied[ident] = (kind, cents)
            if key:
                by_key.setdefault(key, set()).add(ident)
    assert all(len(ids) == 1 for ids in by_key.values()), "a retried key moved money twice"
    assert any(len([r for r in results if r[0][4] == key]) == 2 for key in by_key), "the plan should race some retries"
    deposited = sum(cents for kind, cents in applied.values() if kind == "deposit")
    withdrawn = sum(cents for kind, cents in applied.values() if kind == "withdraw")
    transfer_ids = {ident[1] for ident in applied if ident[0]}
    moves_ok = sum(1 for ident in applied if not ident[0])

    engine = create_engine(url)
    with engine.connect() as connection:
        balances = dict(connection.execute(text("SELECT acc_id, balance_cents FROM accounts")).all())
        rows = connection.execute(text(
            "SELECT trans_id, acc_id, kind, amount_cents, balance_after_cents, transfer_id FROM transactions ORDER BY trans_id")).all()
        transfer_count = connection.execute(text("SELECT COUNT(*) FROM transfers")).scalar()
    engine.dispose()

    assert min(balances.values()) >= 0
    assert sum(balances.values()) == ACCOUNTS * OPENING_CENTS + deposited - withdrawn
    assert transfer_count == len(transfer_ids)
    assert len(rows) == ACCOUNTS + moves_ok + 2 * len(transfer_ids)
    legs = {}
    for row in rows:
        if row.transfer_id is not None:
            legs.setdefault(row.transfer_id, []).append(row.amount_cents)
    assert set(legs) == transfer_ids
    assert all(len(amounts) == 2 and sum(amounts) == 0 for amounts in legs.values())
    # Each account's rows chain: every balance_after is the previous one plus the amount, which
    # only holds if the operations on that account ran one at a time.
    running = {}
    for row in rows:
        assert running.get(row.acc_id, 0) + row.amount_cents == row.balance_after_cents, row
        running[row.acc_id] = row.balance_after_cents
    assert running == balances
