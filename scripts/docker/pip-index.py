#!/usr/bin/env python3
"""Serves the package indexes pip is configured with on this machine over HTTP on 127.0.0.1, so that
`docker build --network host` can install the app's locks the way it would from the bank's index:
    python3 scripts/docker/pip-index.py [--port N]
prints one line of JSON, {"PIP_INDEX_URL": ..., "PIP_EXTRA_INDEX_URL": ...} (the build arguments),
then serves until it is stopped. file:// indexes (a local mirror) are served from disk; http(s) ones are
passed on as they are. Only GET and HEAD of files under those directories are answered."""
import argparse
import json
import os
import posixpath
import subprocess
import sys
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote, urlsplit


def configured_indexes(python):
    """pip's index-url and extra-index-urls, as `pip config list` reports them (environment included)."""
    listed = subprocess.run([python, "-m", "pip", "config", "list"], capture_output=True, text=True, check=True).stdout
    indexes = []
    for line in listed.splitlines():
        key, _, value = line.partition("=")
        if key.rsplit(".", 1)[-1] in ("index-url", "extra-index-url"):
            indexes.extend(value.strip().strip("'\"").split())
    for variable in ("PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL"):
        indexes.extend(os.environ.get(variable, "").split())
    return list(dict.fromkeys(indexes))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0, help="default: a free port")
    parser.add_argument("--python", default="python3.11", help="whose pip configuration to serve")
    args = parser.parse_args()

    served = {}  # URL prefix -> directory that holds simple/ and what its pages link to
    urls = []
    for index in configured_indexes(args.python):
        parts = urlsplit(index)
        if parts.scheme != "file":
            urls.append(index)
            continue
        simple = unquote(parts.path).rstrip("/")
        if not os.path.isdir(simple):
            continue
        # The mirror's pages link to their files relatively (../../files/...): serve the parent.
        prefix = f"/index{len(served)}"
        served[prefix] = os.path.dirname(simple)
        urls.append((prefix, os.path.basename(simple)))
    if not urls:
        sys.exit("pip-index: pip has no index configured (pip config list shows no index-url)")

    class Handler(SimpleHTTPRequestHandler):
        def translate_path(self, path):
            path = posixpath.normpath(unquote(urlsplit(path).path))
            for prefix, directory in served.items():
                if path == prefix or path.startswith(prefix + "/"):
                    return os.path.join(directory, path[len(prefix):].lstrip("/"))
            return "/nonexistent"

        def list_directory(self, path):
            self.send_error(404)

        def log_message(self, format, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    base = f"http://127.0.0.1:{server.server_address[1]}"
    resolved = [u if isinstance(u, str) else f"{base}{u[0]}/{u[1]}/" for u in urls]
    print(json.dumps({"PIP_INDEX_URL": resolved[0], "PIP_EXTRA_INDEX_URL": " ".join(resolved[1:])}), flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
