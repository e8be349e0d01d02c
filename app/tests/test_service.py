"""What every response shares: /health and /health/live, 404 and 405 as JSON or HTML by Accept, security headers."""
import socket

import pytest

from bank import create_app


def test_health_answers_ok_when_the_database_answers(anonymous):
    response = anonymous.get("/health")
    assert response.status_code == 200
    assert response.json == {"status": "ok"}


def test_health_is_503_when_the_database_does_not_answer(backend_app):
    broken = {"sqlite": "sqlite:////nonexistent-dir/bank.sqlite",
              "mariadb": "mysql+pymysql://bank:wrong@127.0.0.1:1/none?connect_timeout=2"}[backend_app.backend]
    app = create_app({"SQLALCHEMY_DATABASE_URI": broken, "SECRET_KEY": "x", "TESTING": True,
                      "DB_SSL_MODE": "DISABLED" if backend_app.backend == "mariadb" else None})
    response = app.test_client().get("/health")
    assert response.status_code == 503
    assert response.json["status"] == "unavailable"


def test_liveness_answers_without_asking_the_database_even_one_that_hangs():
    """The load balancer's check: a database that accepts connections and never answers (an endpoint
    in the middle of a failover) is not even contacted, so liveness cannot wait for it."""
    with socket.socket() as hanging:
        hanging.bind(("127.0.0.1", 0))
        hanging.listen(8)
        url = f"mysql+pymysql://bank:x@127.0.0.1:{hanging.getsockname()[1]}/bank"
        app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "x", "TESTING": True, "DB_SSL_MODE": "DISABLED"})
        response = app.test_client().get("/health/live")
        assert response.status_code == 200
        assert response.json == {"status": "alive"}
        hanging.setblocking(False)
        with pytest.raises(BlockingIOError):
            hanging.accept()  # nobody connected


def test_liveness_is_200_where_health_is_503(backend_app):
    broken = {"sqlite": "sqlite:////nonexistent-dir/bank.sqlite",
              "mariadb": "mysql+pymysql://bank:wrong@127.0.0.1:1/none?connect_timeout=2"}[backend_app.backend]
    app = create_app({"SQLALCHEMY_DATABASE_URI": broken, "SECRET_KEY": "x", "TESTING": True,
                      "DB_SSL_MODE": "DISABLED" if backend_app.backend == "mariadb" else None})
    client = app.test_client()
    assert client.get("/health").status_code == 503
    assert client.get("/health/live").status_code == 200


def test_an_unknown_route_is_a_json_404_under_the_api_and_when_json_is_asked(anonymous):
    for path, headers in (("/api/v1/nothing", {}), ("/nothing", {"Accept": "application/json"})):
        response = anonymous.get(path, headers=headers)
        assert response.status_code == 404
        assert response.json == {"error": f"not found: {path}"}


def test_an_unknown_route_is_an_html_404_for_a_browser(anonymous):
    response = anonymous.get("/nothing", headers={"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"})
    assert response.status_code == 404
    assert response.mimetype == "text/html"
    assert "Not found" in response.get_data(as_text=True)


def test_a_wrong_method_is_a_405_naming_the_allowed_ones(executive):
    response = executive.patch("/api/v1/transfers", json={})
    assert response.status_code == 405
    assert "POST" in response.headers["Allow"]
    assert response.json["error"].startswith("method PATCH is not allowed")


def test_responses_carry_security_headers(anonymous):
    response = anonymous.get("/login")
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert "default-src 'self'" in response.headers["Content-Security-Policy"]
    assert response.headers["Cache-Control"] == "no-store"


def test_sql_logging_never_shows_parameters(tmp_path, caplog):
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'echo.sqlite'}", "SQLALCHEMY_ECHO": True,
                      "SECRET_KEY": "x", "BCRYPT_ROUNDS": 4})
    from bank import migrate
    from bank.staff import create_staff

    with app.app_context(), caplog.at_level("INFO", logger="sqlalchemy.engine"):
        migrate.upgrade()
        staff = create_staff("echo-user", "teller", "a-secret-password")
        stored_hash = staff.password_hash
    logged = caplog.text
    assert "INSERT INTO staff" in logged
    assert stored_hash not in logged and "echo-user" not in logged
