"""Who is asking: staff sessions (Flask-Login, CSRF on every form) for the HTML pages, HTTP Basic
or the session for the JSON API, and the role each route demands."""
from functools import wraps

from flask import g, request
from flask_login import LoginManager, current_user
from flask_wtf.csrf import CSRFProtect

from .database import db
from .errors import Forbidden, Unauthorized
from .models import Staff
from .staff import authenticate

login_manager = LoginManager()
csrf = CSRFProtect()


@login_manager.user_loader
def _load_staff(staff_id):
    staff = db.session.get(Staff, int(staff_id)) if staff_id.isdigit() else None
    return staff if staff is not None and staff.active else None


def init_app(app):
    login_manager.init_app(app)
    login_manager.login_view = "web.login"
    login_manager.login_message = "Please log in."
    login_manager.session_protection = "strong"
    csrf.init_app(app)


def api_staff():
    """The staff user behind an API request (Basic credentials first, then the session)."""
    if "api_staff" in g:
        return g.api_staff
    auth = request.authorization
    if auth is not None and auth.type == "basic":
        staff = authenticate(auth.username, auth.password)
    elif current_user.is_authenticated:
        staff = current_user._get_current_object()
        if request.method not in ("GET", "HEAD", "OPTIONS"):
            # A cookie rides along with forged cross-site requests; Basic credentials do not.
            csrf.protect()
    else:
        raise Unauthorized("authentication required: HTTP Basic with a staff user's credentials, or log in")
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
