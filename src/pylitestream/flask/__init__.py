"""pylitestream in a Flask app: `flask litestream <command>` (every pylitestream command, with
the app's `config["LITESTREAM"]` applied) and `init_app(app, authorize=...)`, the dashboard
mounted in the app behind the app's own login. Needs `py-litestream[flask]`.

    from pylitestream.flask import init_app

    init_app(app, authorize=lambda request: current_user.is_authenticated and current_user.admin)
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from flask import Flask

SETTING = "LITESTREAM"
SOURCE = "Flask app.config['LITESTREAM']"


def use_settings(app: Flask) -> None:
    """Make app.config["LITESTREAM"] pylitestream's framework settings in this process (read at
    each use, so a later change to the config is seen). init_app and `flask litestream` call it;
    call it yourself for an app that mounts no dashboard but runs Replicator or the API."""
    from .. import api

    api.use_framework_settings(SOURCE, lambda: app.config.get(SETTING))


def init_app(
    app: Flask,
    url_prefix: str = "/litestream",
    authorize: Callable[[Any], Any] | None = None,
    actions: Callable[[Any], Any] | bool | None = None,
    public: bool = False,
    config: str | os.PathLike[str] | None = None,
) -> None:
    """Mount the dashboard at `url_prefix` (every path below it: pages, JSON, actions, static
    files), and use app.config["LITESTREAM"] as pylitestream's settings.

    authorize(request): called with Flask's request inside the request context (so flask-login's
    current_user works) before every request to the dashboard. Truthy: may view. A Flask
    response (e.g. `login_manager.unauthorized()`, a redirect to the login page): returned as
    it is. Anything else falsy: 403. An HTTPException it raises (abort(401)) is Flask's to
    answer, as in any view.
    actions: who may run Verify now / Sync now / Restore: a callable taking the request (truthy:
    may act), True for everyone authorize lets in, None (default) for nobody.
    public: serve it to everyone on purpose, instead of authorize.
    config: the litestream.yml (default: found as every command finds it).

    Refused (pylitestream.UsageError, one line): neither authorize nor public, both of them,
    actions=True with public, a url_prefix that is not a path, a bad app.config["LITESTREAM"]."""
    from .dashboard import mount

    use_settings(app)
    from .. import api

    api.framework_settings()  # a bad LITESTREAM stops the app here, not at the first backup
    mount(app, url_prefix, authorize=authorize, actions=actions, public=public, config=config)
