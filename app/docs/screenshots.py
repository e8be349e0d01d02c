"""Takes the screenshots of the staff pages shown in app/README.md: a throwaway SQLite database with
the demo customers, gunicorn on a free loopback port, and Debian's Chromium driven by playwright-core
(screenshots.mjs) through a teller's and an executive's day.

Usage, from the repository root: scripts/app-python.sh app/docs/screenshots.py [OUTPUT_DIR]
(default app/docs/screenshots). Needs /usr/bin/chromium (Debian package chromium), Node.js 20 and
`npm ci` at the repository root."""
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

DOCS = Path(__file__).resolve().parent
REPO = DOCS.parents[1]
sys.path.insert(0, str(REPO / "app" / "tests"))

from servers import Gunicorn, app_env, flask_cli  # noqa: E402

# Throwaway accounts of a throwaway database that lives as long as this run.
STAFF = {"maria": ("executive", "screenshots-executive-1"), "tom": ("teller", "screenshots-teller-12")}


def main(output):
    missing = [what for what, ok in (
        ("/usr/bin/chromium (apt-get install chromium)", os.path.exists("/usr/bin/chromium")),
        ("node (Node.js 20)", shutil.which("node")),
        ("playwright-core (npm ci at the repository root)", (REPO / "node_modules" / "playwright-core").is_dir()),
    ) if not ok]
    if missing:
        sys.exit("screenshots: missing " + ", ".join(missing))
    output.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="bank-screenshots-") as scratch:
        env = app_env(f"sqlite:///{Path(scratch) / 'bank.sqlite'}")
        flask_cli(env, "migrate")
        flask_cli(env, "seed-demo")
        for username, (role, password) in STAFF.items():
            flask_cli(env, "create-staff", username, role, input_text=password + "\n")
        server = Gunicorn(env, workers=1).start()
        try:
            result = subprocess.run(
                ["node", str(DOCS / "screenshots.mjs"), server.url, str(output)],
                env={**os.environ, "BANK_SHOTS_EXECUTIVE": "maria:" + STAFF["maria"][1],
                     "BANK_SHOTS_TELLER": "tom:" + STAFF["tom"][1]},
                timeout=300,
            )
        finally:
            server.stop()
    if result.returncode != 0:
        sys.exit(f"screenshots: screenshots.mjs failed (exit {result.returncode}); gunicorn said:\n{server.logs()[-3000:]}")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else DOCS / "screenshots")
