"""What every response shares: /health, errors as JSON or HTML by Accept, and security headers."""
import io

from flask import current_app, jsonify, render_template, request
from flask_wtf.csrf import CSRFError
from sqlalchemy import text
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge
from werkzeug.routing import BaseConverter

from . import migrate
from .database import db
from .errors import BankError, TooManyAttempts


def wants_json():
    if request.path.startswith("/api/"):
        return True
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json" and request.accept_mimetypes[best] > request.accept_mimetypes["text/html"]


def _error(status, message, headers=None):
    if wants_json():
        response = jsonify({"error": message})
    else:
        response = render_template("error.html", status=status, message=message)
    return response, status, headers or {}


def refuse_large_bodies():
    """The first thing a request meets (before CSRF parses a form). A declared length over the
    limit is refused before a byte of the body is read: werkzeug's own check on parsing first reads
    the whole body away, which is what held a worker for a 100 MiB POST. A chunked body, which
    declares no length, is read here up to one byte past the limit: over it is a 413 too, where
    werkzeug would cut it off silently and parse a truncated form."""
    limit = current_app.config["MAX_CONTENT_LENGTH"]
    if not limit:
        return
    if request.content_length is not None:
        if request.content_length > limit:
            raise RequestEntityTooLarge()
    elif "chunked" in request.headers.get("Transfer-Encoding", "").lower():
        body = request.environ["wsgi.input"].read(limit + 1)
        if len(body) > limit:
            raise RequestEntityTooLarge()
        request.environ["wsgi.input"] = io.BytesIO(body)


def init_app(app):
    @app.get("/health/live")
    def liveness():
        # The load balancer's question (is this worker alive?), asked every few seconds: it never
        # touches the database, so an outage of the database or a connection that hangs while it
        # fails over does not get every task replaced. Whether the task can serve is /health's.
        return jsonify({"status": "alive"})

    @app.get("/health")
    def health():
        try:
            db.session.execute(text("SELECT 1"))
        except Exception as error:  # any failure to answer means unhealthy; the load balancer needs only that
            db.session.rollback()
            # The answer stays vague (anyone may ask); the log says why, e.g. which TLS setting to check.
            current_app.logger.warning("health: the database does not answer: %s", getattr(error, "orig", None) or error)
            return jsonify({"status": "unavailable", "error": "the database does not answer"}), 503
        behind = migrate.schema_behind(db.session)
        if behind:
            return jsonify({"status": "unavailable", "error": behind}), 503
        return jsonify({"status": "ok"})

    @app.errorhandler(BankError)
    def bank_error(error):
        headers = {}
        if error.status == 401:
            headers["WWW-Authenticate"] = 'Bearer realm="bank"'
        if isinstance(error, TooManyAttempts):
            headers["Retry-After"] = str(error.retry_after_seconds)
        return _error(error.status, error.message, headers)

    @app.errorhandler(CSRFError)
    def csrf_error(error):
        return _error(400, f"csrf_token: {error.description} Reload the page and try again.")

    @app.errorhandler(HTTPException)
    def http_error(error):
        messages = {
            404: f"not found: {request.path}",
            405: f"method {request.method} is not allowed on {request.path}",
            413: f"body: the request is larger than the {app.config['MAX_CONTENT_LENGTH']} bytes this app accepts",
        }
        allowed = getattr(error, "valid_methods", None)
        headers = {"Allow": ", ".join(allowed)} if allowed else None
        return _error(error.code, messages.get(error.code, error.description), headers)

    @app.errorhandler(Exception)
    def unexpected(error):
        app.logger.exception("unhandled error on %s %s", request.method, request.path)
        db.session.rollback()
        return _error(500, "internal error; it has been logged")

    @app.after_request
    def security_headers(response):
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault(
            "Content-Security-Policy", "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'"
        )
        response.headers.setdefault("Permissions-Policy", _PERMISSIONS_POLICY)
        if app.config["HSTS_SECONDS"]:
            response.headers.setdefault("Strict-Transport-Security",
                                        f"max-age={app.config['HSTS_SECONDS']}; includeSubDomains")
        if request.endpoint != "static":
            # Not setdefault: send_file marks statements cacheable, and a statement is customer data.
            response.headers["Cache-Control"] = "no-store"
        response.headers.pop("Server", None)
        return response


# The pages use none of these browser features; nothing embedded in them may either.
_PERMISSIONS_POLICY = ("accelerometer=(), camera=(), geolocation=(), gyroscope=(), magnetometer=(), microphone=(), "
                       "payment=(), usb=()")


class IdConverter(BaseConverter):
    """`<id:acc_id>`: an account or customer id in ASCII digits that fits a BIGINT; anything else is
    no page of ours (404), where werkzeug's `int` takes any length and any script's digits."""

    regex = r"[0-9]{1,15}"
    weight = 50

    def to_python(self, value):
        return int(value)

    def to_url(self, value):
        return str(int(value))
