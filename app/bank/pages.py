"""What every response shares: /health, errors as JSON or HTML by Accept, and security headers."""
from werkzeug.routing import BaseConverter

from flask import current_app, jsonify, render_template, request
from flask_wtf.csrf import CSRFError
from sqlalchemy import text
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

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
    """The first thing a request meets (before CSRF parses a form): a declared length over the
    limit is refused before a byte of the body is read. werkzeug's own check on parsing first reads
    the whole body away, which is what held a worker for a 100 MiB POST; a chunked body without a
    length is cut off by werkzeug at the limit as it is read."""
    limit = current_app.config["MAX_CONTENT_LENGTH"]
    if limit and (request.content_length or 0) > limit:
        raise RequestEntityTooLarge()


def init_app(app):
    @app.get("/health")
    def health():
        try:
            db.session.execute(text("SELECT 1"))
        except Exception:  # any failure to answer means unhealthy; the load balancer needs only that
            db.session.rollback()
            return jsonify({"status": "unavailable", "error": "the database does not answer"}), 503
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
