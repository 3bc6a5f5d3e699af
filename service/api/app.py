"""``create_app()``: the FastAPI app, its lifespan (load the engine, warm up grammar), middleware
and error handlers. Routes live in ``routes_*.py``; all of them call the one engine."""

from __future__ import annotations

import logging
import threading
import time
from contextlib import asynccontextmanager
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from fastapi import APIRouter, FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.middleware.cors import CORSMiddleware
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from fastapi.routing import APIRoute
from fastapi_offline import FastAPIOffline
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect
from starlette.routing import BaseRoute, Match

from service.api import routes_languagetool, routes_ops, routes_page, routes_score
from service.api.deps import AppState
from service.api.batching import Scorer
from service.api.gate import Busy, Gate
from service.api.metrics import Metrics
from service.api.routes_page import STATIC, PageFiles
from service.api.schemas import BatchRequest, RestoreRequest, ScoreRequest
from service.config import Settings, get_settings
from service.decoding import InputError, TextTooLong
from service.engine import Engine, get_engine

log = logging.getLogger("unspin.api")


def _version() -> str:
    try:
        return version("unspin")
    except PackageNotFoundError:  # pragma: no cover
        return "0"


def _load(state: AppState) -> None:
    """Load the engine (the slow part: seconds) and warm the grammar server up, off the event loop."""
    try:
        engine = get_engine(state.settings)
        checker = getattr(engine, "grammar", None)
        if checker is not None:
            checker.warm_up()  # LanguageTool's first check takes seconds; pay it now, not in a request
        state.engine = engine
    except Exception as e:  # reported by /readyz and by every scoring request's 503
        log.exception("the engine failed to load")
        state.load_error = f"{type(e).__name__}: {e}"
    finally:
        state.loaded.set()


#: the routers of the app, in the order they are included
ROUTERS = (routes_score.router, routes_languagetool.router, routes_ops.router, routes_page.router)
#: where the scripts and styles of ``/docs`` and ``/redoc`` are served from
DOCS_STATIC = "/docs-static"


def _answer_head(router: APIRouter) -> None:
    """Let every ``GET`` route of ``router`` answer ``HEAD`` as well, as HTTP asks of a server (RFC
    9110, 9.3.2): monitors, load balancers and link checkers probe with it. FastAPI's routes answer
    only the methods they name; the ``HEAD`` routes added here run the same endpoint and stay out of
    the OpenAPI description (the server sends the headers without the body). Adds each once, so
    building the app again adds nothing."""
    heads = {r.path for r in router.routes if isinstance(r, APIRoute) and "HEAD" in r.methods}
    for r in list(router.routes):
        if isinstance(r, APIRoute) and "GET" in r.methods and r.path not in heads:
            router.add_api_route(r.path.removeprefix(router.prefix), r.endpoint, methods=["HEAD"],
                                 include_in_schema=False, response_class=r.response_class,
                                 dependencies=[d for d in r.dependencies if d not in router.dependencies])
            heads.add(r.path)


def _allowed(app: FastAPI, request: Request) -> list[str]:
    """Every method some route answers at the request's path, for a 405's ``Allow`` header
    (Starlette names only the methods of the first route it finds there, so ``PUT /v2/check`` was
    told ``POST`` alone although ``GET`` works too)."""
    scope = {**request.scope, "method": "OPTIONS"}  # a method no route answers: each route of the path matches partly
    routes = [*app.router.routes, *(r for router in ROUTERS for r in router.routes)]
    methods: set[str] = set()
    for r in routes:
        if getattr(r, "methods", None) and r.matches(scope)[0] is not Match.NONE:
            methods |= set(r.methods)
    order = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
    return sorted(methods, key=lambda m: (order.index(m) if m in order else len(order), m))


def _route_label(app: FastAPI, route: BaseRoute | None, scope: dict) -> str:
    """The route a request is counted under in the metrics: the path template of the route that took
    it (``/v1/score``, ``/docs``, ``/static/{path}`` for every static file), or ``unmatched`` when no
    route did (an unknown path, a slash redirect), so that paths a client makes up cannot grow the
    metrics without bound.

    Args:
        route: the route named in the request's scope: FastAPI's routes name themselves there, its
            own pages (``/docs``, ``/openapi.json``) and mounts (``/static``) do not.
        scope: the request's scope as it came in, to find such a route as the router found it.
    """
    if route is None:
        route = next((r for r in app.router.routes if r.matches(scope)[0] is not Match.NONE), None)
    return getattr(route, "path_format", None) or "unmatched"


def _speaks_languagetool(request: Request) -> bool:
    """Whether the request is under ``/v2``, where errors are answered as LanguageTool answers them: a
    plain-text body starting with ``Error:``."""
    return request.url.path == "/v2" or request.url.path.startswith("/v2/")


#: the status counted for a request whose client went away before its body was sent (as nginx counts it)
CLIENT_CLOSED = 499


def internal_error(request: Request, exc: Exception) -> Response:
    """The answer to an error no handler expected: 500, logged with where and what (never the
    user's text), in LanguageTool's plain text under ``/v2``."""
    log.error("internal error on %s %s: %s", request.method, request.url.path, type(exc).__name__)
    if _speaks_languagetool(request):
        return PlainTextResponse("Error: internal error", status_code=500)
    return JSONResponse({"detail": "internal error"}, status_code=500)


def create_app(settings: Settings | None = None, engine: Engine | None = None) -> FastAPI:
    """The unspin HTTP app.

    Args:
        settings: configuration (default: from the environment).
        engine: an already loaded engine to serve (tests); default: loaded in the background at
            start-up, so ``/healthz`` answers at once and ``/readyz`` turns 200 when it is ready.
    """
    settings = settings or get_settings()
    gate = Gate(settings.concurrency, settings.queue_size)
    state = AppState(settings=settings, metrics=Metrics(), gate=gate,
                     scorer=Scorer(gate, settings.batch_window_ms, settings.max_batch))

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        if engine is not None:
            state.engine = engine
            state.loaded.set()
        else:
            threading.Thread(target=_load, args=(state,), name="unspin-load", daemon=True).start()
        yield

    # FastAPI's /docs and /redoc pages with their scripts served by the app (Swagger UI 5, which reads
    # OpenAPI 3.1, and ReDoc, from the fastapi-offline package), not fetched from a CDN: they work offline
    app = FastAPIOffline(
        static_url=DOCS_STATIC,
        title="unspin",
        version=_version(),
        description="Find synonym-spun, machine-paraphrased or garbled text and suggest the likely original. "
        "`/v1` speaks unspin's report; `/v2/check` speaks LanguageTool's protocol.",
        lifespan=lifespan,
    )
    app.state.unspin = state
    _answer_head(app.router)  # the docs pages, as FastAPI's own answered HEAD

    @app.middleware("http")
    async def observe(request: Request, call_next):
        """Every answer counted in the metrics, an internal error's too: it is answered here, inside
        the CORS middleware, so that a browser page reads the 500 instead of a CORS failure."""
        t0 = time.perf_counter()
        scope = dict(request.scope)  # as it came in: a mount rewrites the request's root_path on its way
        try:
            response = await call_next(request)
        except ClientDisconnect:  # the client went away before its body was sent: nobody to answer
            log.info("client disconnected on %s %s", request.method, request.url.path)
            response = Response(status_code=CLIENT_CLOSED)
        except Exception as exc:
            response = internal_error(request, exc)
        route = _route_label(app, request.scope.get("route"), scope)
        state.metrics.observe(route, request.method, response.status_code, time.perf_counter() - t0)
        return response

    origins = [o.strip() for o in settings.cors_origins.split(",") if o.strip()]
    if origins:  # added last: the outermost, so that every answer carries its headers
        app.add_middleware(CORSMiddleware, allow_origins=origins, allow_methods=["GET", "POST"],
                           allow_headers=["Authorization", "Content-Type"],
                           expose_headers=["Retry-After", "WWW-Authenticate"])  # a page's script reads them

    @app.exception_handler(Busy)
    async def busy(request: Request, exc: Busy) -> Response:
        state.metrics.rejected.inc()
        headers = {"Retry-After": str(exc.retry_after)}
        if _speaks_languagetool(request):
            return PlainTextResponse(f"Error: {exc}", status_code=503, headers=headers)
        return JSONResponse({"detail": str(exc)}, status_code=503, headers=headers)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code == 405 and (allowed := _allowed(app, request)):
            exc.headers = {**(exc.headers or {}), "Allow": ", ".join(allowed)}
        if _speaks_languagetool(request):  # an unknown path or method under /v2
            return PlainTextResponse(f"Error: {exc.detail}", status_code=exc.status_code, headers=exc.headers)
        return await http_exception_handler(request, exc)

    @app.exception_handler(InputError)
    async def bad_text(request: Request, exc: InputError) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=413 if isinstance(exc, TextTooLong) else 422)

    @app.exception_handler(Exception)
    async def internal(request: Request, exc: Exception) -> Response:
        return internal_error(request, exc)

    for router in ROUTERS:
        _answer_head(router)
        app.include_router(router)
    app.mount("/static", PageFiles(directory=Path(str(STATIC))), name="static")

    def openapi() -> dict:
        # the score routes read their bodies themselves (JSON or text/plain); publish the schemas they accept
        if app.openapi_schema is None:
            schema = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
            comps = schema.setdefault("components", {}).setdefault("schemas", {})
            for model in (ScoreRequest, RestoreRequest, BatchRequest):
                js = model.model_json_schema(ref_template="#/components/schemas/{model}")
                comps.update(js.pop("$defs", {}))
                comps[model.__name__] = js
            # an API key, when UNSPIN_API_KEYS sets any, as a bearer token on /v1 (so that /docs offers it)
            schema["components"]["securitySchemes"] = {"apiKey": {"type": "http", "scheme": "bearer"}}
            for path, ops in schema["paths"].items():
                if path.startswith("/v1/"):
                    for op in ops.values():
                        op["security"] = [{}, {"apiKey": []}]  # optional: needed only when keys are configured
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app
