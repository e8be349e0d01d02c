"""Debian's Chromium under playwright (from the test lock), for the walk-through and the README's
screenshots. playwright's own browser downloads are never used: it drives /usr/bin/chromium (or
BANK_TEST_CHROMIUM) with the flags a closed network needs."""
import os
from contextlib import contextmanager

CHROMIUM = os.environ.get("BANK_TEST_CHROMIUM", "/usr/bin/chromium")
# Without the background-networking flags Chromium keeps calling out to Google's hosts, which a
# closed network refuses; playwright gives each launch a fresh profile of its own.
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]


class MissingChromium(RuntimeError):
    pass


@contextmanager
def launch_chromium(*extra_flags):
    if not os.path.exists(CHROMIUM):
        raise MissingChromium(f"{CHROMIUM} not found: install the Debian package chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=[*FLAGS, *extra_flags])
        try:
            yield browser
        finally:
            browser.close()
