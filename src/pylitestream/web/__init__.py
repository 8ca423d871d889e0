"""The web dashboard: every database's backup health at a glance, and actions that tell the
truth. Needs the optional extra `py-litestream[dashboard]` (Starlette, Jinja2, uvicorn,
a2wsgi); importing pylitestream never imports it, and neither does this module until an app is
made.

    from pylitestream.web import create_app        # ASGI (FastAPI/Starlette: app.mount)
    from pylitestream.web import create_wsgi_app   # WSGI (Flask, Django, gunicorn)
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import Any

from ..errors import MissingExtra

EXTRA = "py-litestream[dashboard]"


def served_to_everyone() -> list[str]:
    """The config of each dashboard this process built with public=True and no authentication
    (so `manage.py check --deploy` can name it: pylitestream.W003). None if none was built."""
    import sys

    app = sys.modules.get(f"{__name__}.app")
    return list(dict.fromkeys(app.SERVED_TO_EVERYONE)) if app else []


def require_extra() -> None:
    import importlib.util

    missing = [name for name in ("starlette", "jinja2", "uvicorn", "a2wsgi")
               if importlib.util.find_spec(name) is None]  # fmt: skip
    if missing:
        raise MissingExtra(f"the dashboard needs {', '.join(missing)}: pip install '{EXTRA}'")


def create_app(
    config: str | os.PathLike[str] | None = None,
    *,
    template_dirs: Sequence[str | os.PathLike[str]] = (),
    allow_actions: bool | None = None,
    authorize: Callable[[Any], Any] | None = None,
    public: bool = False,
) -> Any:
    """The dashboard as an ASGI app (a Starlette application).

    config: the litestream.yml (default: searched as every command does).
    template_dirs: directories searched before the packaged templates (also from
    PYLITESTREAM_TEMPLATES, os.pathsep-separated); "default:NAME" is always the packaged one.
    allow_actions: verify / sync / restore buttons; None reads PYLITESTREAM_DASHBOARD_ACTIONS.
    They need authentication: basic auth credentials in the environment or `authorize`.
    authorize: called with each Starlette request (may be async); False means 403.
    public: serve it to anyone on purpose. Without it, an app with neither credentials in the
    environment nor `authorize` is refused (UsageError), so no dashboard is ever open to
    everyone by accident."""
    require_extra()
    from .app import build

    return build(config, template_dirs=template_dirs, allow_actions=allow_actions,
                 authorize=authorize, public=public)  # fmt: skip


def create_wsgi_app(
    config: str | os.PathLike[str] | None = None,
    *,
    template_dirs: Sequence[str | os.PathLike[str]] = (),
    allow_actions: bool | None = None,
    authorize: Callable[[Any], Any] | None = None,
    public: bool = False,
) -> Any:
    """The same dashboard as a WSGI app (a2wsgi), for Flask, Django and other WSGI hosts."""
    app = create_app(config, template_dirs=template_dirs, allow_actions=allow_actions,
                     authorize=authorize, public=public)  # fmt: skip
    from a2wsgi import ASGIMiddleware

    return ASGIMiddleware(app)


def hosted_app(config: str | os.PathLike[str] | None = None) -> Any:
    """The dashboard as ASGI for a host that authenticates and authorizes every request itself
    and says so in the scope (hosting.HOST_KEY): pylitestream.fastapi. Every request without that
    key is refused with 403."""
    require_extra()
    from .app import build

    return build(config, hosted=True)


def hosted_wsgi_app(config: str | os.PathLike[str] | None = None) -> Any:
    """The same for WSGI hosts that put hosting.HOST_KEY in the environ: pylitestream.django and
    pylitestream.flask."""
    app = hosted_app(config)
    from a2wsgi import ASGIMiddleware

    return ASGIMiddleware(app)
