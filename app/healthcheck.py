"""The image's HEALTHCHECK: exit 0 when /health answers 200 on the address gunicorn binds
(BANK_BIND, as gunicorn.conf.py reads it), 1 otherwise. Standard library only: it runs every 30 s."""
import os
import sys
import urllib.request


def health_url():
    host, _, port = os.environ.get("BANK_BIND", "0.0.0.0:8000").rpartition(":")
    host = host.strip("[]")
    if host in ("", "0.0.0.0", "::"):
        host = "127.0.0.1"
    return f"http://{'[' + host + ']' if ':' in host else host}:{port}/health"


if __name__ == "__main__":
    try:
        with urllib.request.urlopen(health_url(), timeout=4) as response:
            sys.exit(0 if response.status == 200 else 1)
    except Exception as error:  # any failure is unhealthy; say which for `docker inspect`
        print(f"unhealthy: {error}")
        sys.exit(1)
