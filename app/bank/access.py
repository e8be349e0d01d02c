"""Who is asking: staff sessions (Flask-Login over server-side sessions, CSRF on every form) for the
HTML pages, an API token or the session for the JSON API, and the role each route demands."""
from functools import wraps

from flask import g, request
from flask_login import LoginManager, current_user
from flask_wtf.csrf import CSRFProtect

from .credentials import check_session, session_staff, token_staff
from .errors import Forbidden, Unauthorized

login_manager = LoginManager()
csrf = CSRFProtect()


@login_manager.user_loader
def _load_staff(session_token):
    return session_staff(session_token)


def init_app(app):
    login_manager.init_app(app)
    login_manager.login_view = "web.login"
    login_manager.login_message = "Please log in."
    # "strong" drops the login when the cookie comes back from another address or browser. It only
    # applies to sessions that are not permanent, which is why the cookie lasts while the browser
    # is open and the lifetimes are enforced on the server (credentials.session_staff).
    login_manager.session_protection = "strong"
    app.before_request(check_session)
    csrf.init_app(app)


def api_staff():
    """The staff user behind an API request: an API token (Authorization: Bearer), else the session."""
    if "api_staff" in g:
        return g.api_staff
    authorization = request.headers.get("Authorization")
    if authorization is not None:
        scheme, _, token = authorization.strip().partition(" ")
        if scheme.lower() != "bearer":
            # Passwords are for people at the login form: checking one per API request made every
            # request cost a bcrypt round, the cheapest way to tie up the workers.
            raise Unauthorized(f"{scheme or 'this'} credentials are not accepted; send an API token as "
                               "'Authorization: Bearer <token>' (made by flask --app bank create-token)")
        staff = token_staff(token.strip())
    elif current_user.is_authenticated:
        staff = current_user._get_current_object()
        if request.method not in ("GET", "HEAD", "OPTIONS"):
            # A cookie rides along with forged cross-site requests; a bearer token does not.
            csrf.protect()
    else:
        raise Unauthorized("authentication required: an API token ('Authorization: Bearer <token>') or log in")
    g.api_staff = staff
    return staff


def require_role(staff, roles):
    if staff.role not in roles:
        raise Forbidden(f"this needs the {' or '.join(roles)} role; {staff.username} is a {staff.role}")


def api_roles(*roles):
    """Route decorator for the API: authenticate, check the role, pass the staff user on."""

    def decorate(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            staff = api_staff()
            if roles:
                require_role(staff, roles)
            return view(staff, *args, **kwargs)

        return wrapped

    return decorate
