"""The image's build step that installs the database's CA bundle where DB_SSL_CA points
(`python -m bank.db_ca_bundle DESTINATION`, app/Dockerfile's runtime stage): fetched from
DB_CA_BUNDLE_URL (RDS's global bundle by default), kept only if its SHA-256 is DB_CA_BUNDLE_SHA256
and it holds CA certificates and nothing else."""
import hashlib
import os
import re
import ssl
import sys
import urllib.request

from .db_tls import RDS_GLOBAL_BUNDLE_URL


def install_bundle(destination, environ=os.environ):
    """Downloads DB_CA_BUNDLE_URL, checks it against DB_CA_BUNDLE_SHA256 and that it is a bundle of
    CA certificates, and writes it to `destination` (readable by everyone: it holds no secret)."""
    url = environ.get("DB_CA_BUNDLE_URL") or RDS_GLOBAL_BUNDLE_URL
    expected = (environ.get("DB_CA_BUNDLE_SHA256") or "").strip().lower()
    if not re.fullmatch(r"[0-9a-f]{64}", expected):
        raise SystemExit(
            f"db-ca-bundle: the build argument DB_CA_BUNDLE_SHA256 must be the SHA-256 (64 hex digits) of {url}, got "
            f"{expected or 'nothing'!r}; app/README.md says how to get and check it")
    try:
        data = _fetch(url)
    except OSError as error:
        raise SystemExit(f"db-ca-bundle: cannot fetch DB_CA_BUNDLE_URL={url}: {error}") from None
    found = hashlib.sha256(data).hexdigest()
    if found != expected:
        raise SystemExit(f"db-ca-bundle: {url} has SHA-256 {found}, not DB_CA_BUNDLE_SHA256={expected}: refusing it "
                         "(a changed bundle is reviewed and pinned anew, see app/README.md)")
    certificates = data.count(b"-----BEGIN CERTIFICATE-----")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    try:
        context.load_verify_locations(cadata=data.decode("ascii"))
    except (UnicodeDecodeError, ValueError, ssl.SSLError) as error:
        raise SystemExit(f"db-ca-bundle: {url} is not a PEM bundle of certificates ({error})") from None
    cas = context.cert_store_stats()["x509_ca"]
    if b"PRIVATE KEY" in data or cas == 0 or cas != certificates:
        raise SystemExit(f"db-ca-bundle: {url} must hold CA certificates only; it holds {certificates} certificates, "
                         f"{cas} of them CAs{', and a private key' if b'PRIVATE KEY' in data else ''}")
    os.makedirs(os.path.dirname(destination), exist_ok=True)
    with open(destination, "wb") as handle:
        handle.write(data)
    os.chmod(destination, 0o644)
    print(f"db-ca-bundle: {destination}: {cas} CA certificates from {url} (sha256 {found})")


def _fetch(url):
    with urllib.request.urlopen(url, timeout=60) as response:
        return response.read()


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit("usage: python -m bank.db_ca_bundle DESTINATION")
    install_bundle(sys.argv[1])
