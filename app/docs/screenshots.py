"""Takes the screenshots of the staff pages shown in app/README.md: a throwaway SQLite database with
the demo customers, gunicorn on a free loopback port, and Debian's Chromium driven by playwright
(from the test lock) through a teller's and an executive's day.

Usage, from the repository root: scripts/app-python.sh app/docs/screenshots.py [OUTPUT_DIR]
(default app/docs/screenshots). Needs /usr/bin/chromium (Debian package chromium)."""
import sys
import tempfile
from pathlib import Path

DOCS = Path(__file__).resolve().parent
APP = DOCS.parent
sys.path.insert(0, str(APP / "tests"))

from chromium import MissingChromium, launch_chromium  # noqa: E402
from servers import Gunicorn, app_env, flask_cli  # noqa: E402

# Throwaway accounts of a throwaway database that lives as long as this run.
STAFF = {"maria": ("executive", "screenshots-executive-1"), "tom": ("teller", "screenshots-teller-12")}
# Small files: one CSS pixel per pixel, and a window no bigger than the pages need.
VIEWPORT = {"width": 980, "height": 560}


def log_in(page, base, username):
    page.goto(f"{base}/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(STAFF[username][1])
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{base}/")


def take(base, output):
    def shoot(page, name):
        page.screenshot(path=str(output / f"{name}.png"), animations="disabled", caret="hide")
        print(f"{name}.png")

    with launch_chromium("--hide-scrollbars") as browser:
        page = browser.new_context(viewport=VIEWPORT, device_scale_factor=1).new_page()
        page.set_default_timeout(60_000)

        # A teller: a deposit typed as the pages show money, then a transfer reviewed and receipted.
        log_in(page, base, "tom")
        page.goto(f"{base}/accounts/360110000")
        deposit = page.locator("form#deposit")
        deposit.get_by_label("Amount").fill("1,250.00")
        deposit.get_by_role("button", name="Deposit").click()
        page.locator("p.flash", has_text="Deposited 1,250.00").wait_for()
        shoot(page, "account")

        page.goto(f"{base}/transfer?cust_id=110110000")
        page.get_by_label("From account").fill("360110001")
        page.get_by_label("To account").fill("360110002")
        page.get_by_label("Amount").fill("2,000.00")
        page.get_by_role("button", name="Review transfer").click()
        page.get_by_role("heading", name="Confirm the transfer").wait_for()
        shoot(page, "transfer-review")
        page.get_by_role("button", name="Confirm transfer").click()
        page.wait_for_url(lambda url: "/transfers/" in url and url.rstrip("/").rsplit("/", 1)[-1].isdigit())
        shoot(page, "transfer-receipt")

        page.goto(f"{base}/accounts/360110001/statement")
        shoot(page, "statement")
        page.get_by_role("button", name="Log out").click()

        # An executive: a new customer's form with three mistakes, all shown at once beside their fields.
        log_in(page, base, "maria")
        page.goto(f"{base}/customers/new")
        for label, value in (("SSN id", "12345"), ("Name", "Grace Hopper"), ("Address", ""), ("Age", "eighty"),
                             ("State", "New York"), ("City", "Arlington")):
            page.get_by_label(label).fill(value)
        page.get_by_role("button", name="Create customer").click()
        page.locator("p.problem").first.wait_for()
        shoot(page, "customer-form-problems")


def main(output):
    output.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="bank-screenshots-") as scratch:
        env = app_env(f"sqlite:///{Path(scratch) / 'bank.sqlite'}")
        flask_cli(env, "migrate")
        flask_cli(env, "seed-demo")
        for username, (role, password) in STAFF.items():
            flask_cli(env, "create-staff", username, role, input_text=password + "\n")
        server = Gunicorn(env, workers=1).start()
        try:
            take(server.url, output)
        except MissingChromium as error:
            sys.exit(f"screenshots: {error}")
        except Exception:
            print(f"screenshots: failed; gunicorn said:\n{server.logs()[-3000:]}", file=sys.stderr)
            raise
        finally:
            server.stop()


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else DOCS / "screenshots")
