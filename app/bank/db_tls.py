"""How the app, its migrations and the db-users step reach MySQL/MariaDB: over TLS that verifies the
server (DB_SSL_CA: a bundle of the CAs that may sign the server's certificate, which must also name
the host connected to), or in plain text where someone said so (DB_SSL_MODE=DISABLED). Production
never falls back to plain text by itself: without either setting it refuses to start."""
import os
import re
import ssl

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
