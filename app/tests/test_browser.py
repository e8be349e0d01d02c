"""A person's walk through the pages in a real browser: Debian's Chromium driven by playwright-core
(tests/browser/walkthrough.mjs) against gunicorn on SQLite; and the README's screenshots, retaken
by their script (docs/screenshots.py)."""
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from openpyxl import load_workbook

from servers import Gunicorn, app_env, flask_cli

SCRIPT = Path(__file__).parent / "browser" / "walkthrough.mjs"
REPO = Path(__file__).resolve().parents[2]


def test_an_executive_and_a_teller_work_through_the_pages(tmp_path):
    if not os.path.exists("/usr/bin/chromium"):
        pytest.fail("/usr/bin/chromium not found: install the Debian package chromium", pytrace=False)
    node = shutil.which("node")
    if node is None:
        pytest.fail("node not found: install Node.js 20", pytrace=False)
    if not (REPO / "node_modules" / "playwright-core").is_dir():
        pytest.fail("playwright-core is missing: run npm ci at the repository root", pytrace=False)
    passwords = {"exec1": ("executive", "exec-walkthrough-1"), "teller1": ("teller", "teller-walkthrough-1"),
                 "teller2": ("teller", "second-desk-walkthrough-2")}
    env = app_env(f"sqlite:///{tmp_path / 'bank.sqlite'}")
    flask_cli(env, "migrate")
    for username, (role, password) in passwords.items():
        flask_cli(env, "create-staff", username, role, input_text=password + "\n")
    server = Gunicorn(env, workers=2).start()
    try:
        downloads = tmp_path / "downloads"
        downloads.mkdir()
        result = subprocess.run(
            [node, str(SCRIPT), server.url, str(downloads)],
            env={**os.environ, "BANK_E2E_EXECUTIVE_PASSWORD": passwords["exec1"][1],
                 "BANK_E2E_TELLER_PASSWORD": passwords["teller1"][1],
                 "BANK_E2E_SECOND_TELLER_PASSWORD": passwords["teller2"][1]},
            capture_output=True, text=True, timeout=180,
        )
    finally:
        server.stop()
    assert result.returncode == 0, f"{result.stdout}\n{result.stderr}\n--- gunicorn ---\n{server.logs()[-3000:]}"
    assert "walkthrough passed" in result.stdout
    assert sorted(p.suffix for p in downloads.iterdir()) == [".pdf", ".xlsx"]
    # The spreadsheet the browser downloaded holds its balances as numbers, shown with two decimals.
    sheet = load_workbook(next(downloads.glob("*.xlsx"))).active
    heading = {row[0].value: row[1] for row in sheet.iter_rows(max_row=6)}
    assert (heading["Opening balance"].value, heading["Closing balance"].value) == (0, 1020)
    assert {heading[k].number_format for k in ("Opening balance", "Closing balance")} == {"#,##0.00"}


def test_the_readme_screenshots_are_retaken_by_the_script_in_the_repository(tmp_path):
    """The PNGs the README shows are the ones app/docs/screenshots.py takes, and stay small."""
    readme = (REPO / "app" / "README.md").read_text()
    shown = set(re.findall(r"\(docs/screenshots/([a-z-]+\.png)\)", readme))
    committed = {p.name for p in (REPO / "app" / "docs" / "screenshots").glob("*.png")}
    assert shown and shown == committed
    for name in committed:
        assert (REPO / "app" / "docs" / "screenshots" / name).stat().st_size < 120_000, name
    result = subprocess.run([sys.executable, str(REPO / "app" / "docs" / "screenshots.py"), str(tmp_path)],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    taken = {p.name for p in tmp_path.iterdir()}
    assert taken == committed
    for name in taken:
        assert (tmp_path / name).read_bytes().startswith(b"\x89PNG\r\n\x1a\n"), name
