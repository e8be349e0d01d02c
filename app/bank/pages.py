"""What every response shares: /health, errors as JSON or HTML by Accept, and security headers."""
from flask import jsonify, render_template, request
from flask_wtf.csrf import CSRFError
from sqlalchemy import text
from werkzeug.exceptions import HTTPException

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


def init_app(app):
    @app.get("/health")
    def health():
        try:
            db.session.execute(text("SELECT 1"))
        except Exception:  # any failure to answer means unhealthy; the load balancer needs only that
            db.session.rollback()
            return jsonify({"status": "unavailable", "error": "the database does not answer"}), 503
        behind = migrate.schema_behind(db.session)
        if behind:
            return jsonify({"status": "unavailable", "error": behind}), 503
        return jsonify({"status": "ok"})

    @app.errorhandler(BankError)
    def bank_error(error):
        headers = {}
        if error.status == 401:
            headers["WWW-Authenticate"] = 'Basic realm="bank", charset="UTF-8"'
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
            "Content-Security-Policy", "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'"
        )
        if request.endpoint != "static":
            response.headers.setdefault("Cache-Control", "no-store")
        return response
