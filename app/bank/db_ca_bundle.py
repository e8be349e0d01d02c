"""The image's build step that installs the database's CA bundle where DB_SSL_CA points
(`python -m bank.db_ca_bundle DESTINATION PIN_FILE`, app/Dockerfile's runtime stage): fetched from
DB_CA_BUNDLE_URL (RDS's global bundle by default), kept only if its SHA-256 is the pinned one and it
holds CA certificates and nothing else. The pin is the build argument DB_CA_BUNDLE_SHA256 when given,
else the hash committed in PIN_FILE (app/db-ca-bundle.sha256), so that the bundle someone checked is
a reviewed line of the repository and every build of it (the pipeline's too) installs exactly that."""
import hashlib
import os
import re
import ssl
import sys
import urllib.request

from .db_tls import RDS_GLOBAL_BUNDLE_URL

_SHA256 = re.compile(r"[0-9a-f]{64}")


def pinned_sha256(environ, pin_file):
    """The SHA-256 the bundle must have: DB_CA_BUNDLE_SHA256, else PIN_FILE's one line that is not a
    comment. Raises SystemExit naming both when neither holds a hash."""
    given = (environ.get("DB_CA_BUNDLE_SHA256") or "").strip().lower()
    if given:
        if not _SHA256.fullmatch(given):
            raise SystemExit(f"db-ca-bundle: the build argument DB_CA_BUNDLE_SHA256 must be a SHA-256 (64 hex digits), "
                             f"got {given!r}")
        return given
    if pin_file is None:
        raise SystemExit("db-ca-bundle: the build argument DB_CA_BUNDLE_SHA256 must be the SHA-256 (64 hex digits) of "
                         "the bundle; app/README.md says how to get and check it")
    try:
        with open(pin_file, encoding="ascii") as handle:
            lines = [line.strip().lower() for line in handle if line.strip() and not line.lstrip().startswith("#")]
    except (OSError, UnicodeDecodeError) as error:
        raise SystemExit(f"db-ca-bundle: cannot read the pin file {pin_file}: {error}") from None
    if len(lines) != 1 or not _SHA256.fullmatch(lines[0]):
        found = "no hash" if not lines else f"{len(lines)} lines" if len(lines) > 1 else repr(lines[0])
        raise SystemExit(f"db-ca-bundle: {pin_file} must hold the SHA-256 (64 hex digits, one line) of the bundle someone "
                         f"checked, found {found}, and the build argument DB_CA_BUNDLE_SHA256 is not set either; "
                         "app/README.md (\"The database's CA bundle\") says how to check the bundle and pin it")
    return lines[0]


def install_bundle(destination, pin_file=None, environ=os.environ):
    """Downloads DB_CA_BUNDLE_URL, checks it against the pinned SHA-256 (pinned_sha256) and that it is
    a bundle of CA certificates, and writes it to `destination` (readable by everyone: no secret)."""
    url = environ.get("DB_CA_BUNDLE_URL") or RDS_GLOBAL_BUNDLE_URL
    expected = pinned_sha256(environ, pin_file)
    try:
        data = _fetch(url)
    except OSError as error:
        raise SystemExit(f"db-ca-bundle: cannot fetch DB_CA_BUNDLE_URL={url}: {error}") from None
    found = hashlib.sha256(data).hexdigest()
    if found != expected:
        pin = f"DB_CA_BUNDLE_SHA256={expected}" if environ.get("DB_CA_BUNDLE_SHA256") else f"{expected}, pinned in {pin_file}"
        raise SystemExit(f"db-ca-bundle: {url} has SHA-256 {found}, not {pin}: refusing it "
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
    if len(sys.argv) not in (2, 3):
        raise SystemExit("usage: python -m bank.db_ca_bundle DESTINATION [PIN_FILE]")
    install_bundle(sys.argv[1], sys.argv[2] if len(sys.argv) == 3 else None)
