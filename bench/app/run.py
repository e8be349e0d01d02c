#!/usr/bin/env python3
"""Benchmark of the bank app: wrk against gunicorn on loopback, account reads and transfers, on
SQLite and on MariaDB, in this project's configuration (WEB_CONCURRENCY workers, SQL echo off)
and in the original's (one sync worker, SQL echo on), all in one run. Prints a Markdown table.

    scripts/app-python.sh bench/app/run.py [--seconds 5] [--rounds 3] [--connections 16] [--workers 5]

Needs: wrk and mariadb-server; scripts/app-python.sh runs it in the virtualenv built from app/'s locks.
Runs take rounds x 8 x seconds plus start-up (about 2.5 minutes by default); everything listens on 127.0.0.1 only.
"""
import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "app" / "tests"))
from servers import Gunicorn, MariaDB, MissingTool, app_env, flask_cli, _find  # noqa: E402

USER_AGENT = "bank-bench"  # the session is bound to it (Flask-Login strong protection)
PASSWORD = "bench-password-123"
ACCOUNTS = 10

TRANSFER_LUA = """
local accounts = {%s}
wrk.method = "POST"
request = function()
  local a = math.random(#accounts)
  local b = a %% #accounts + 1
  local body = string.format('{"from": %%d, "to": %%d, "amount": "0.01"}', accounts[a], accounts[b])
  return wrk.format(nil, "/api/v1/transfers", nil, body)
end
"""

READ_LUA = """
local accounts = {%s}
request = function()
  return wrk.format("GET", "/api/v1/accounts/" .. accounts[math.random(#accounts)])
end
"""


def prepare(url):
    # The opening cash goes in as one deposit per account, above the default approval limit.
    env = app_env(url, BANK_BCRYPT_ROUNDS="12", BANK_APPROVAL_LIMIT="1000000.00")
    flask_cli(env, "migrate")
    flask_cli(env, "create-staff", "bench-exec", "executive", input_text=PASSWORD + "\n")
    flask_cli(env, "create-staff", "bench-teller", "teller", input_text=PASSWORD + "\n")
    return env


def log_in(base, username):
    """A session cookie and CSRF token, so wrk's requests skip bcrypt as a browser's would."""
    session = requests.Session()
    session.headers["User-Agent"] = USER_AGENT
    page = session.get(f"{base}/login").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    response = session.post(f"{base}/login", data={"username": username, "password": PASSWORD, "csrf_token": token},
                            allow_redirects=False)
    assert response.status_code == 302, response.text
    token = re.search(r'name="csrf_token" value="([^"]+)"', session.get(f"{base}/").text).group(1)
    return session, token


def open_accounts(base):
    session, token = log_in(base, "bench-exec")
    headers = {"X-CSRFToken": token}
    cust = session.post(f"{base}/api/v1/customers", headers=headers, json={
        "ssn_id": "800000001", "name": "Bench", "address": "1 Loop St", "age": 30, "state": "S", "city": "C"}).json()
    acc_ids = [session.post(f"{base}/api/v1/accounts", headers=headers, json={
        "cust_id": cust["cust_id"], "type": "current"}).json()["acc_id"] for _ in range(ACCOUNTS)]
    # Accounts open empty; their money is a teller's cash deposit.
    teller, teller_token = log_in(base, "bench-teller")
    for acc_id in acc_ids:
        paid = teller.post(f"{base}/api/v1/accounts/{acc_id}/deposit", headers={"X-CSRFToken": teller_token},
                           json={"amount": "1000000.00"})
        assert paid.status_code == 200, paid.text
    return acc_ids


def wrk(base, lua, session, token, seconds, connections):
    cookie = "; ".join(f"{c.name}={c.value}" for c in session.cookies)
    # The session cookie is a credential: it goes into the 0600 script file, never into wrk's argv.
    headers = {"Cookie": cookie, "X-CSRFToken": token, "User-Agent": USER_AGENT, "Content-Type": "application/json"}
    preamble = "".join(f'wrk.headers["{name}"] = "{value}"\n' for name, value in headers.items())
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(preamble + lua)
    command = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--timeout", "10s", "--latency", "-s", script.name,
               base]
    try:
        output = subprocess.run(command, capture_output=True, text=True, check=True, timeout=seconds + 60).stdout
    finally:
        os.unlink(script.name)
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))
    latency = {p: re.search(rf"^\s+{p}%\s+([\d.]+\w+)", output, re.M).group(1) for p in ("50", "99")}
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    errors = re.search(r"Socket errors: (.*)", output)
    return {"rate": rate, "p50": latency["50"], "p99": latency["99"], "non2xx": int(bad.group(1)) if bad else 0,
            "socket_errors": errors.group(1) if errors else ""}


def _ms(text):
    value, unit = re.match(r"([\d.]+)(\w+)", text).groups()
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=5, help="duration of each wrk run")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved repetitions; the median is reported")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--workers", type=int, default=5, help="gunicorn workers in this project's configuration")
    args = parser.parse_args()
    try:
        _find("wrk", "wrk")
        mariadb = MariaDB().start()
    except MissingTool as error:
        sys.exit(str(error))
    configurations = [(f"this app: {args.workers} sync workers", args.workers, False),
                      ("original's: 1 sync worker, SQL echo", 1, True)]
    servers, targets = [], []
    load_before = os.getloadavg()
    try:
        with tempfile.TemporaryDirectory() as scratch:
            # All four servers run side by side and the measurements interleave round by round, so
            # a burst of other load on the machine hits every configuration alike.
            for database in ("sqlite", "mariadb"):
                for label, workers, echo in configurations:
                    name = f"bench_{len(servers)}"
                    url = f"sqlite:///{scratch}/{name}.sqlite" if database == "sqlite" else mariadb.create_database(name)
                    env = prepare(url)
                    server = Gunicorn({**env, "BANK_SQL_ECHO": "1" if echo else "0"}, workers=workers).start()
                    servers.append(server)
                    ids = ", ".join(map(str, open_accounts(server.url)))
                    session, token = log_in(server.url, "bench-teller")
                    for workload, lua in (("account read", READ_LUA % ids), ("transfer", TRANSFER_LUA % ids)):
                        targets.append({"label": label, "database": database, "workload": workload, "server": server,
                                        "lua": lua, "session": session, "token": token, "runs": []})
            for round_ in range(args.rounds):
                for target in targets:
                    result = wrk(target["server"].url, target["lua"], target["session"], target["token"],
                                 args.seconds, args.connections)
                    target["runs"].append(result)
                    print(f"  round {round_ + 1}: {target['label']:<36} {target['database']:<8} {target['workload']:<13}"
                          f"{result['rate']:>8.1f} req/s  p50 {result['p50']:>8}  p99 {result['p99']:>8}"
                          f"  non-2xx {result['non2xx']}", flush=True)
        retries = sum(server.logs().count("write retried") for server in servers)
        tracebacks = sum(server.logs().count("Traceback") for server in servers)
    finally:
        for server in servers:
            server.stop()
        mariadb.stop()
    load_after = os.getloadavg()
    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")), "?")
    print(f"\nwrk -t2 -c{args.connections}, {args.rounds} interleaved rounds of {args.seconds}s, median shown;"
          f" {os.cpu_count()} cores ({cpu}); loopback; session-cookie auth;"
          f" load average {load_before[0]:.1f} before, {load_after[0]:.1f} after;"
          f" {retries} deadlock retries, {tracebacks} server errors logged\n")
    print("| configuration | database | workload | requests/s (median) | min..max | p50 | p99 | non-2xx |")
    print("|---|---|---|---:|---:|---:|---:|---:|")
    for t in targets:
        rates = sorted(r["rate"] for r in t["runs"])
        p50 = statistics.median(_ms(r["p50"]) for r in t["runs"])
        p99 = statistics.median(_ms(r["p99"]) for r in t["runs"])
        bad = sum(r["non2xx"] for r in t["runs"])
        print(f"| {t['label']} | {t['database']} | {t['workload']} | {statistics.median(rates):.0f} |"
              f" {rates[0]:.0f}..{rates[-1]:.0f} | {p50:.1f} ms | {p99:.1f} ms | {bad} |")


if __name__ == "__main__":
    main()
