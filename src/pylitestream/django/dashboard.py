"""The dashboard served by Django itself (`include("pylitestream.django.urls")`): Django's
session and login decide who sees it, Django's CSRF protects its actions, and the request is
then handed to the dashboard's WSGI app (pylitestream.web.hosted_wsgi_app) in this process.

Who may do what is settings.LITESTREAM_DASHBOARD = {"view": RULE, "actions": RULE}, each RULE a
callable taking the user (or a dotted path to one); by default active staff may view and
active superusers may act (verify / sync / restore)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured, PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import get_token
from django.utils.module_loading import import_string
from django.views.decorators.csrf import csrf_protect

SETTING = "LITESTREAM_DASHBOARD"
KEYS = ("actions", "view")
Rule = Callable[[Any], Any]

HOP_BY_HOP = ("connection", "keep-alive", "transfer-encoding", "content-length")


def staff(user: Any) -> bool:
    """The default view rule."""
    return bool(user.is_active and user.is_staff)


def superuser(user: Any) -> bool:
    """The default actions rule."""
    return bool(user.is_active and user.is_superuser)


DEFAULTS: dict[str, Rule] = {"view": staff, "actions": superuser}


def rules() -> dict[str, Rule]:
    """settings.LITESTREAM_DASHBOARD's rules, validated; a bad value is refused by its key in
    one line (ImproperlyConfigured), and never printed (it could be anything)."""
    value = getattr(settings, SETTING, None)
    if value is None:
        return dict(DEFAULTS)
    if not isinstance(value, dict):
        raise ImproperlyConfigured(f"settings.{SETTING} must be a dict, not {type(value).__name__}")
    unknown = sorted(str(key) for key in value if key not in KEYS)
    if unknown:
        raise ImproperlyConfigured(
            f"unknown key {unknown[0]!r} in settings.{SETTING}; known: {', '.join(KEYS)}"
        )
    found = dict(DEFAULTS)
    for key, rule in value.items():
        if rule is None:
            continue
        if isinstance(rule, str):
            try:
                rule = import_string(rule)
            except ImportError as exc:
                raise ImproperlyConfigured(
                    f"settings.{SETTING}[{key!r}]: cannot import {rule!r}: "
                    f"{str(exc).splitlines()[0] if str(exc) else type(exc).__name__}"
                ) from None
        if not callable(rule):
            raise ImproperlyConfigured(
                f"settings.{SETTING}[{key!r}] must be a callable taking the user, or a dotted "
                f"path to one, not {type(rule).__name__}"
            )
        found[key] = rule
    return found


_app: Any = None
_app_lock = threading.Lock()


def wsgi_app() -> Any:
    """One dashboard per process, built on first use (its refreshers and jobs live in it)."""
    global _app
    with _app_lock:
        if _app is None:
            from .. import web

            _app = web.hosted_wsgi_app()
        return _app


def environ_for(request: HttpRequest, rest: str, actions: bool) -> dict[str, Any]:
    """The WSGI environ for the dashboard (web.hosting): Django's own CSRF token goes with the
    host's word, so the dashboard's forms carry it and Django checks it."""
    from ..web.hosting import forwarded_environ

    try:
        body = request.body
    except Exception:  # a multipart body Django has already parsed: the dashboard takes none
        body = b""
    host = {"csrf_field": "csrfmiddlewaretoken", "csrf_token": get_token(request),
            "actions": actions}  # fmt: skip
    return forwarded_environ(
        request.META, method=request.method or "GET", body=body, host=host,
        mount=request.path[: len(request.path) - len(rest)].rstrip("/"), rest=rest,
        scheme=request.scheme or "http",
    )  # fmt: skip


def call_wsgi(app: Any, environ: dict[str, Any]) -> HttpResponse:
    """Run the WSGI app and return its whole answer as a Django response."""
    started: dict[str, Any] = {}

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        started["status"], started["headers"] = status, headers
        return lambda data: None  # a2wsgi never uses write()

    result: Iterable[bytes] = app(environ, start_response)
    try:
        body = b"".join(result)
    finally:
        close = getattr(result, "close", None)
        if close is not None:
            close()
    response = HttpResponse(body, status=int(str(started["status"]).split()[0]))
    for name, value in started["headers"]:
        if name.lower() not in HOP_BY_HOP:
            response[name] = value
    return response


def view(request: HttpRequest, rest: str = "") -> HttpResponse:
    """Anonymous: to settings.LOGIN_URL (?next=). Not allowed to view: 403. A POST (an action)
    needs the actions rule and Django's CSRF token (csrf_protect: 403 without it)."""
    allowed = rules()
    user = getattr(request, "user", None)
    if user is None:
        raise ImproperlyConfigured(
            "the Litestream dashboard needs django.contrib.auth's AuthenticationMiddleware"
        )
    if not user.is_authenticated:
        # Here, not at the top: auth's views load its models, which need configured settings.
        from django.contrib.auth.views import redirect_to_login

        return redirect_to_login(request.get_full_path())
    if not allowed["view"](user):
        raise PermissionDenied
    actions = bool(allowed["actions"](user))
    if request.method not in ("GET", "HEAD") and not actions:
        raise PermissionDenied
    return call_wsgi(wsgi_app(), environ_for(request, rest, actions))


# Applied by call, not as a decorator: Django has no type information, and mypy would call the
# decorated view untyped. csrf_protect works with or without CsrfViewMiddleware in MIDDLEWARE.
dashboard: Callable[..., HttpResponse] = csrf_protect(view)
