"""How the app, its migrations and the db-users step reach MySQL/MariaDB: over TLS that verifies the
server (DB_SSL_CA: a bundle of the CAs that may sign the server's certificate, which must also name
the host connected to), or in plain text where someone said so (DB_SSL_MODE=DISABLED). Production
never falls back to plain text by itself: without either setting it refuses to start.

Also the image's build step that installs the CA bundle (`python -m bank.db_tls install-bundle PATH`,
app/Dockerfile): fetched from DB_CA_BUNDLE_URL, accepted only with the SHA-256 in DB_CA_BUNDLE_SHA256."""
import hashlib
import os
import re
import ssl
import sys
import urllib.request

VERIFY_IDENTITY = "VERIFY_IDENTITY"
DISABLED = "DISABLED"
MODES = (VERIFY_IDENTITY, DISABLED)  # the names of mysql's --ssl-mode for the same behaviours

# Where the runtime image keeps the bundle it was built with (app/Dockerfile, the task definition's DB_SSL_CA).
IMAGE_CA_BUNDLE = "/etc/bank/db-ca.pem"
RDS_GLOBAL_BUNDLE_URL = "https://truststore.pki.rds.amazonaws.com/global/global-bundle.pem"

# TLS options a URL's query could carry past these settings (PyMySQL's ssl_disabled would switch TLS off).
_URL_TLS_OPTIONS = re.compile(r"^ssl", re.I)


class Settings:
    """DB_SSL_MODE and DB_SSL_CA as given (None when unset or empty), checked and turned into the
    driver's connect arguments by `connect_args()`."""

    def __init__(self, mode=None, ca=None):
        self.mode = mode or None
        self.ca = ca or None

    @classmethod
    def from_environ(cls, environ=os.environ):
        return cls(environ.get("DB_SSL_MODE"), environ.get("DB_SSL_CA"))

    def connect_args(self, development, url_query=()):
        """PyMySQL's connect arguments: {"ssl": a verifying SSLContext} or {"ssl_disabled": True}.
        Raises RuntimeError naming the setting that is wrong or missing."""
        if self.mode is not None and self.mode not in MODES:
            raise RuntimeError(f"DB_SSL_MODE must be {' or '.join(MODES)}, got {self.mode!r}")
        given = sorted(key for key in url_query if _URL_TLS_OPTIONS.match(key))
        if given:
            raise RuntimeError(f"DATABASE_URL carries TLS options ({', '.join(given)}); set DB_SSL_CA "
                               "(or DB_SSL_MODE=DISABLED) instead, so that one setting decides how the app connects")
        if self.ca is not None:
            if self.mode == DISABLED:
                raise RuntimeError(f"DB_SSL_MODE=DISABLED contradicts DB_SSL_CA={self.ca}: unset one of them")
            return {"ssl": verifying_context(self.ca)}
        if self.mode == VERIFY_IDENTITY:
            raise RuntimeError("DB_SSL_MODE=VERIFY_IDENTITY needs DB_SSL_CA, the CA bundle that signs the "
                               f"database's certificate (the image has RDS's at {IMAGE_CA_BUNDLE})")
        if self.mode == DISABLED or development:
            return {"ssl_disabled": True}
        raise RuntimeError("DB_SSL_CA is not set: in production the app connects to MySQL/MariaDB only over TLS "
                           "that verifies the server; set DB_SSL_CA to the CA bundle that signs the database's "
                           f"certificate (the image has RDS's at {IMAGE_CA_BUNDLE}), or DB_SSL_MODE=DISABLED to "
                           "connect in plain text")

    def refuse_for_sqlite(self):
        """A demand for TLS names a MySQL/MariaDB connection; given with SQLite it points at a mistake (a
        DB_* variable missing, so that the app would quietly keep its ledger in a local file)."""
        given = [name for name, value in (("DB_SSL_CA", self.ca), ("DB_SSL_MODE", self.mode))
                 if value is not None and value != DISABLED]
        if given:
            raise RuntimeError(f"{' and '.join(given)} {'is' if len(given) == 1 else 'are'} set but the database is "
                               "SQLite: set DB_HOST, DB_NAME, DB_USER and DB_PASSWORD (or DATABASE_URL) for MySQL/MariaDB")


def verifying_context(path):
    """An SSLContext that trusts only the CAs in `path`, requires the server's certificate, checks that it
    names the host, and speaks TLS 1.2 or newer (the versions RDS's parameter group allows)."""
    try:
        context = ssl.create_default_context(cafile=path)
    except OSError as error:
        if isinstance(error, ssl.SSLError):
            raise RuntimeError(f"DB_SSL_CA={path} is not a PEM bundle of CA certificates ({error.reason or error})") from None
        raise RuntimeError(f"DB_SSL_CA={path} cannot be read: {error.strerror or error}") from None
    if context.cert_store_stats()["x509_ca"] == 0:
        raise RuntimeError(f"DB_SSL_CA={path} holds no CA certificate (only server or client certificates)")
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


# MySQL's "Connections using insecure transport are prohibited", and "Access denied", which is how
# MariaDB refuses a client without TLS under require_secure_transport (as it refuses a wrong password).
_INSECURE_TRANSPORT = 3159
_ACCESS_DENIED = 1045


def is_tls_failure(error, settings):
    """Whether a PyMySQL error may be about TLS: the handshake or the certificate failed, the server
    offers no TLS, or (TLS switched off) the server refuses connections without it."""
    cause = getattr(error, "original_exception", None) or error.__cause__ or error.__context__
    if isinstance(cause, (ssl.SSLError, ssl.CertificateError)):
        return True
    code = error.args[0] if error.args else None
    if code == _INSECURE_TRANSPORT or "SSL is required" in str(error):
        return True
    return settings.mode == DISABLED and code == _ACCESS_DENIED


def explain(error, host, settings):
    """The text of a failed connection's error with what to check, naming the settings."""
    code = error.args[0] if error.args else None
    text = error.args[1] if len(error.args) > 1 else str(error)
    if settings.mode == DISABLED:
        return (f"{text}: DB_SSL_MODE=DISABLED connects without TLS, which a server that requires TLS refuses "
                "(MySQL says so, MariaDB answers Access denied); set DB_SSL_CA to the CA bundle that signs its certificate")
    if code == _INSECURE_TRANSPORT:
        return f"{text}: the server accepts TLS connections only; set DB_SSL_CA to the CA bundle that signs its certificate"
    if "SSL is required" in str(text):
        return (f"{text}: DB_SSL_CA={settings.ca} asks for TLS and {host} offers none; nothing was sent "
                "(is DB_HOST the right server?)")
    return (f"{text}: TLS to the database failed; its certificate must be signed by a CA in DB_SSL_CA={settings.ca} "
            f"and name the host connected to ({host!r}, DB_HOST)")


# --- The image's bundle ------------------------------------------------------------------------

def install_bundle(destination, environ=os.environ, fetch=None):
    """Downloads DB_CA_BUNDLE_URL, checks it against DB_CA_BUNDLE_SHA256 and that it is a bundle of
    CA certificates, and writes it to `destination` (readable by everyone: it holds no secret)."""
    url = environ.get("DB_CA_BUNDLE_URL") or RDS_GLOBAL_BUNDLE_URL
    expected = (environ.get("DB_CA_BUNDLE_SHA256") or "").strip().lower()
    if not re.fullmatch(r"[0-9a-f]{64}", expected):
        raise SystemExit(
            f"db-tls: the build argument DB_CA_BUNDLE_SHA256 must be the SHA-256 (64 hex digits) of {url}, got "
            f"{expected or 'nothing'!r}; app/README.md says how to get and check it")
    try:
        data = (fetch or _fetch)(url)
    except OSError as error:
        raise SystemExit(f"db-tls: cannot fetch DB_CA_BUNDLE_URL={url}: {error}") from None
    found = hashlib.sha256(data).hexdigest()
    if found != expected:
        raise SystemExit(f"db-tls: {url} has SHA-256 {found}, not DB_CA_BUNDLE_SHA256={expected}: refusing it "
                         "(a changed bundle is reviewed and pinned anew, see app/README.md)")
    certificates = data.count(b"-----BEGIN CERTIFICATE-----")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    try:
        context.load_verify_locations(cadata=data.decode("ascii"))
    except (UnicodeDecodeError, ssl.SSLError) as error:
        raise SystemExit(f"db-tls: {url} is not a PEM bundle of certificates ({error})") from None
    cas = context.cert_store_stats()["x509_ca"]
    if b"PRIVATE KEY" in data or cas == 0 or cas != certificates:
        raise SystemExit(f"db-tls: {url} must hold CA certificates only; it holds {certificates} certificates, "
                         f"{cas} of them CAs{', and a private key' if b'PRIVATE KEY' in data else ''}")
    os.makedirs(os.path.dirname(destination), exist_ok=True)
    with open(destination, "wb") as handle:
        handle.write(data)
    os.chmod(destination, 0o644)
    print(f"db-tls: {destination}: {cas} CA certificates from {url} (sha256 {found})")


def _fetch(url):
    with urllib.request.urlopen(url, timeout=60) as response:
        return response.read()


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] != "install-bundle":
        raise SystemExit("usage: python -m bank.db_tls install-bundle DESTINATION")
    install_bundle(sys.argv[2])
