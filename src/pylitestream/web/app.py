"""The Starlette application behind create_app: routes, CSRF, and the overridable templates.
Authentication (basic auth / authorize) and the security headers wrap every route as
middlewares (security.py). Everything it shows comes from overview.gather, everything it does
from actions.Jobs, and both call only pylitestream's public API (pylitestream.api)."""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode

import jinja2
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

import pylitestream

from .. import api
from ..errors import MissingExtra, PylitestreamError, UsageError
from .actions import KINDS, Jobs
from .charts import SPAN, chart
from .fleet import Rows, View, select
from .hosting import HOST_KEY
from .overview import Assembled, KeptCheck, KeptFleet, RestorePoints, gather, with_sizes
from .security import Authentication, SecurityHeaders, credentials, same_secret

HERE = Path(__file__).parent
PACKAGED = HERE / "templates"
REFRESH_SECONDS = 5
_TRUE = ("1", "true", "yes", "on")


SERVED_TO_EVERYONE: list[str] = []  # see pylitestream.web.served_to_everyone

CSRF_COOKIE = "pylitestream_csrf"
"""Double-submit CSRF: the page carries the token its cookie holds, and a POST must bring both.
Another site can neither read the cookie nor set it (SameSite=Strict), and no server state is
needed, so every worker of a multi-process host accepts every other worker's pages."""


def host_of(request: Any) -> dict[str, Any] | None:
    """What the host vouched for this request, or None (a2wsgi keeps the environ in the scope)."""
    host = request.scope.get(HOST_KEY)
    if host is None:
        host = (request.scope.get("wsgi_environ") or {}).get(HOST_KEY)
    return host if isinstance(host, dict) else None


def host_checks_csrf(host: dict[str, Any] | None) -> bool:
    return bool(host and host.get("csrf_token") and host.get("csrf_field"))


def csrf_cookie(request: Any) -> str:
    """The browser's CSRF token, or a new one (set on the response by the page)."""
    token = str(request.cookies.get(CSRF_COOKIE) or "")
    return token if re.fullmatch(r"[A-Za-z0-9_-]{43}", token) else secrets.token_urlsafe(32)


def template_environment(template_dirs: Sequence[str | os.PathLike[str]]) -> jinja2.Environment:
    """Directories from template_dirs, then PYLITESTREAM_TEMPLATES, then the packaged
    templates; 'default:NAME' always names the packaged one (so an override can extend it)."""
    from_env = [d for d in os.environ.get("PYLITESTREAM_TEMPLATES", "").split(os.pathsep) if d]
    search = [str(d) for d in template_dirs] + from_env + [str(PACKAGED)]
    loader = jinja2.ChoiceLoader([
        jinja2.FileSystemLoader(search),
        jinja2.PrefixLoader({"default": jinja2.FileSystemLoader(str(PACKAGED))}, delimiter=":"),
    ])  # fmt: skip
    env = jinja2.Environment(loader=loader, autoescape=True)
    env.filters["ago"] = ago
    env.filters["size"] = human_size
    return env


def ago(seconds: Any) -> str:
    if seconds is None:
        return "–"  # noqa: RUF001 (the dash the templates use)
    value = max(float(seconds), 0.0)  # 0.3's generation lag can be a hair below 0 (clocks)
    for unit, span in (("d", 86400), ("h", 3600), ("m", 60)):
        if value >= span:
            return f"{value / span:.1f} {unit}"
    return f"{value:.1f} s"


def human_size(size: Any) -> str:
    if size is None:
        return "–"  # noqa: RUF001 (the dash the templates use)
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GiB"


def build(config: Any, *, template_dirs: Sequence[str | os.PathLike[str]] = (),
          allow_actions: bool | None = None,
          authorize: Callable[[Any], Any] | None = None,
          public: bool = False, hosted: bool = False) -> Starlette:  # fmt: skip
    """hosted: served only through a host that authenticates and authorizes each request itself
    (HOST_KEY); every other request is refused, and no basic auth of ours is used."""
    config_path = pylitestream.show_config(config)["config"]  # found and readable, or one line
    line = pylitestream.version()["line"]
    profile = api.profile(line)
    wanted = None if hosted else credentials()
    if hosted:
        allow_actions, public = True, False  # each request's host says whether it may act

        def vouched(request: Any) -> bool:
            return host_of(request) is not None

        authorize = vouched

    if allow_actions is None:
        allow_actions = os.environ.get("PYLITESTREAM_DASHBOARD_ACTIONS", "").lower() in _TRUE
    if allow_actions and wanted is None and authorize is None:
        raise UsageError(
            "dashboard actions need authentication: set PYLITESTREAM_DASHBOARD_USERNAME and "
            "PYLITESTREAM_DASHBOARD_PASSWORD (or pass authorize= when mounting)"
        )
    if wanted is None and authorize is None and not public:
        raise UsageError(
            "the dashboard would be open to anyone: set PYLITESTREAM_DASHBOARD_USERNAME and "
            "PYLITESTREAM_DASHBOARD_PASSWORD, or pass authorize=... (public=True opens it on "
            "purpose)"
        )
    if wanted is None and authorize is None:
        SERVED_TO_EVERYONE.append(config_path)

    # One litestream process at a time for restore points (one per database), and health on
    # its own thread, so that a thousand queued restore-point listings never delay it.
    refresher = ThreadPoolExecutor(max_workers=1, thread_name_prefix="pylitestream-points")
    points = RestorePoints(refresher, config_path, profile)
    # Health is refreshed in the background, never asked for by a page load: on 0.5 at a
    # bounded cost to the daemon (KeptFleet), on 0.3 by a check (one litestream per database).
    watcher = ThreadPoolExecutor(max_workers=1, thread_name_prefix="pylitestream-health")
    kept_check: KeptCheck | KeptFleet = (
        KeptFleet(watcher, config_path) if profile.control_socket else KeptCheck(watcher)
    )
    jobs = Jobs(config_path, profile, on_done=points.refresh)
    templates = Jinja2Templates(env=template_environment(template_dirs))

    assembled, rows_of = Assembled(), Rows()

    async def overview() -> dict[str, Any]:
        return await run_in_threadpool(
            gather, config_path, line, points, jobs.snapshot(), kept_check, assembled=assembled
        )

    def may_act(request: Request) -> bool:
        host = host_of(request) if hosted else None
        return bool(allow_actions) and (host is None or bool(host.get("actions")))

    def context(request: Request, data: dict[str, Any]) -> dict[str, Any]:
        host = host_of(request) if hosted else None
        host = host if host_checks_csrf(host) else None
        token = str(host["csrf_token"]) if host else csrf_cookie(request)
        field = str(host["csrf_field"]) if host else "csrf_token"
        return {"o": data, "root": request.scope.get("root_path", "").rstrip("/"),
                "csrf_token": token, "csrf_field": field, "actions": may_act(request),
                "line": line, "profile": profile, "refresh_seconds": REFRESH_SECONDS,
                "pylitestream_version": pylitestream.__version__}  # fmt: skip

    def history(db: str) -> dict[str, Any]:
        """The database's charts (charts.py), or the one line saying why there are none."""
        try:
            kept = api.history_charts(SPAN, db)
        except PylitestreamError as exc:
            return {"charts": {}, "history_error": str(exc)}
        return {"charts": {db: chart(c) for db, c in kept.items()}, "history_error": None}

    def page(request: Request, template: str, data: dict[str, Any],
             extra: dict[str, Any] | None = None) -> Response:  # fmt: skip
        values = {**context(request, data), **(extra or {})}
        response = templates.TemplateResponse(request, template, values)
        if hosted and host_checks_csrf(host_of(request)):
            return response  # the host's CSRF token is in the page; no cookie of ours
        root = values["root"]
        response.set_cookie(CSRF_COOKIE, values["csrf_token"], path=f"{root}/", httponly=True,
                            samesite="strict", secure=request.url.scheme == "https")  # fmt: skip
        return response

    async def fleet(request: Request) -> dict[str, Any]:
        """The overview cut to what the request's query asks for (fleet.View)."""
        view = View.from_query(request.query_params)
        data = await overview()
        chosen = select(data["databases"], view, rows_of)
        return {**data, **chosen, "databases": with_sizes(chosen["databases"]), "view": view}

    async def one(request: Request) -> dict[str, Any] | None:
        """The overview with only the database `?path=` names, or None."""
        data = await overview()
        wanted = request.query_params.get("path", "")
        found = [d for d in data["databases"] if d["database"] == wanted]
        return {**data, "databases": with_sizes(found)} if found else None

    async def index(request: Request) -> Response:
        return page(request, "index.html", await fleet(request))

    async def overview_partial(request: Request) -> Response:
        return page(request, "overview.html", await fleet(request))

    async def overview_json(request: Request) -> Response:
        data = await fleet(request)
        del data["view"], data["rows"]
        return JSONResponse(data)

    async def database_page(request: Request) -> Response:
        data = await one(request)
        if data is None:
            return PlainTextResponse("unknown database", status_code=404)
        template = "database_card.html" if request.url.path.endswith("/card") else "detail.html"
        # A database's page draws its history; the fleet's overview has no room for charts.
        shown = data["databases"][0]["database"]
        return page(request, template, data, await run_in_threadpool(history, shown))

    async def database_json(request: Request) -> Response:
        data = await one(request)
        if data is None:
            return PlainTextResponse("unknown database", status_code=404)
        return JSONResponse(data)

    async def metrics(request: Request) -> Response:
        """The Prometheus metrics of the same overview the page shows (docs/metrics.md)."""
        openmetrics = "application/openmetrics-text" in request.headers.get("accept", "")
        try:
            body = api.metrics_text(await overview(), openmetrics=openmetrics)
        except MissingExtra as exc:
            return PlainTextResponse(str(exc), status_code=501)
        return Response(body, media_type=api.metrics_content_type(openmetrics))

    async def action(request: Request) -> Response:
        if not may_act(request):
            return PlainTextResponse("actions are off (allow_actions)", status_code=403)
        if request.headers.get("sec-fetch-site") == "cross-site":
            return PlainTextResponse("cross-site request refused", status_code=403)
        # Forms post urlencoded (the JS too): no multipart parser needed.
        body = (await request.body())[:65536].decode("utf-8", "replace")
        form = {k: v[0] for k, v in parse_qs(body).items()}
        token = form.get("csrf_token") or request.headers.get("x-csrf-token") or ""
        cookie = request.cookies.get(CSRF_COOKIE) or ""
        # A host that has its own CSRF token has checked it before handing the POST over.
        own_csrf = not (hosted and host_checks_csrf(host_of(request)))
        if own_csrf and not (token and cookie and same_secret(token, cookie)):
            return PlainTextResponse("missing or wrong CSRF token", status_code=403)
        kind = request.path_params["kind"]
        db = form.get("database", "")
        if kind not in KINDS or (kind == "sync" and not profile.control_socket):
            return PlainTextResponse(f"no such action: {kind}", status_code=404)
        known = {d["database"] for d in (await overview())["databases"]}
        if db not in known:
            return PlainTextResponse("unknown database", status_code=404)
        job = jobs.start(kind, db)
        if "application/json" in request.headers.get("accept", ""):
            return JSONResponse(job, status_code=202)
        root = request.scope.get("root_path", "").rstrip("/")
        return RedirectResponse(f"{root}/database?{urlencode({'path': db})}", status_code=303)

    async def job_json(request: Request) -> Response:
        job = jobs.get(int(request.path_params["job_id"]))
        if job is None:
            return PlainTextResponse("no such job", status_code=404)
        return JSONResponse(job)

    # Authentication wraps the router, so every route (pages, JSON, actions, static files, and
    # the 404 of a path that does not exist) is refused before it runs; the headers go on the
    # refusals too.
    middleware = [
        Middleware(SecurityHeaders),
        Middleware(Authentication, wanted=wanted, authorize=authorize),
    ]
    app = Starlette(middleware=middleware, routes=[
        Route("/", index),
        Route("/overview", overview_partial),
        Route("/overview.json", overview_json),
        Route("/database", database_page),
        Route("/database/card", database_page),
        Route("/database.json", database_json),
        Route("/metrics", metrics),
        Route("/actions/{kind}", action, methods=["POST"]),
        Route("/jobs/{job_id:int}", job_json),
        Mount("/static", StaticFiles(directory=str(HERE / "static")), name="static"),
    ])  # fmt: skip
    # What the CLI says when it starts serving (never the password).
    app.state.settings = {
        "config": config_path,
        "username": wanted[0] if wanted else None,
        "custom_authorize": authorize is not None,
        "actions": bool(allow_actions),
    }
    return app
