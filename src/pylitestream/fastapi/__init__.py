"""pylitestream in a FastAPI app: the dashboard behind the app's own dependencies, and litestream
run by the app's lifespan in a single-process server.

    from fastapi import Depends, FastAPI
    from pylitestream.fastapi import dashboard_router, replicator_lifespan

    app = FastAPI(lifespan=replicator_lifespan())
    app.include_router(dashboard_router(view=Depends(require_staff),
                                        actions=Depends(require_admin)))

The dashboard needs `py-litestream[fastapi]`; the lifespan helper needs nothing but the server.
Importing this package imports neither FastAPI nor the dashboard.
"""

from __future__ import annotations

import os
from typing import Any

from ..errors import MissingExtra
from .lifespan import replicator_lifespan

__all__ = ["EXTRA", "dashboard_router", "replicator_lifespan"]

EXTRA = "py-litestream[fastapi]"


def dashboard_router(
    config: str | os.PathLike[str] | None = None,
    *,
    view: Any = None,
    actions: Any = None,
    public: bool = False,
    prefix: str = "/litestream",
) -> Any:
    """The dashboard as a FastAPI APIRouter under `prefix`, for `app.include_router(...)`.

    view: who may see it, a dependency (`Depends(require_staff)` or the function itself) that
    runs on every request below the prefix (pages, JSON, static files, actions); raising (an
    HTTPException, a redirect) refuses the request as it would any route of the app.
    actions: who may also verify, sync and restore, a second dependency: raising (or returning
    False) hides the buttons on a page and refuses an action. None: no actions.
    public: serve it to anyone on purpose (no view dependency). With neither, building refuses
    (pylitestream.UsageError), so no dashboard is ever open to everyone by accident.
    config: the litestream.yml (default: searched as every command does)."""
    import importlib.util

    needed = ("fastapi", "starlette", "jinja2", "uvicorn", "a2wsgi")  # the dashboard's extra too
    missing = [name for name in needed if importlib.util.find_spec(name) is None]
    if missing:
        raise MissingExtra(f"the dashboard needs {', '.join(missing)}: pip install '{EXTRA}'")
    from .dashboard import router

    return router(config, view=view, actions=actions, public=public, prefix=prefix)
