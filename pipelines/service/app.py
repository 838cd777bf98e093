"""The HTTP service (contract: shared/contract/service.md): callers, scopes, rate limits, errors and audit.

Every request passes one middleware (plain ASGI) that names its caller (key, cookie or the public), times it
and appends it to the access log; slowapi counts it against its caller's rate; the endpoints read one
warehouse snapshot.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import re
import time
from contextvars import ContextVar
from pathlib import Path
from typing import Literal

from fastapi import FastAPI, HTTPException, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from slowapi import Limiter
from slowapi.errors import RateLimitExceeded
from slowapi.middleware import SlowAPIASGIMiddleware
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from pipelines.domain.settings import ServiceSettings
from pipelines.service import access_log, pages, queries
from pipelines.service.body import JSONBody
from pipelines.service.context import COOKIE, Service, reading
from pipelines.service.keys import OPEN_CALLER, Caller, Registry
from pipelines.service.warehouse import Warehouse
from pipelines.service.workers import per_worker

ERROR_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    422: "invalid",
    429: "rate_limited",
    500: "internal",
}
LOG = logging.getLogger(__name__)
CURRENT_RATE: ContextVar[str] = ContextVar("current_rate")
MONTH = re.compile(r"^\d{4}-\d{2}(-\d{2})?$")


def create_app(warehouse: Path, keys: Path | None, settings: ServiceSettings, workers: int = 1) -> FastAPI:
    """The app over one published warehouse path; raises WarehouseMissing when nothing is published there.
    `workers`: how many processes serve it, each allowing that share of every rate (workers.py)."""
    log = access_log.AccessLog(access_log.folder_for(warehouse))
    # The cores shared out among the server processes: with more DuckDB threads than cores, a profile's
    # index lookups wait on each other (7% faster alone with one thread than with two).
    threads = max(1, (os.cpu_count() or 1) // workers)
    service = Service(Warehouse(warehouse, threads), Registry(keys), log, settings, workers)
    app = FastAPI(
        title="entity-lakehouse 数据共享交换 / 开放数据服务接口",
        version="1",
        docs_url="/docs",
        default_response_class=JSONBody,
    )
    app.state.service = service
    _rate_limits(app, service)
    _errors(app)
    app.add_middleware(Audit, service=service)  # added last: outermost, so it runs before the rate limit
    _api_routes(app, service)
    pages.add_routes(app, service)
    return app


def _rate_limits(app: FastAPI, service: Service) -> None:
    """slowapi counts per caller (the public per client address) at the caller's or its scope's rate, over the
    whole API (an application limit, not one budget per endpoint). slowapi calls an application limit's
    provider without the request, so the audit middleware puts the caller's rate in a context variable."""

    def rate_key(request: Request) -> str:
        caller: Caller = request.state.caller
        client = request.client.host if request.client else "unknown"
        return f"open:@{client}" if caller.is_anonymous else f"{caller.scope}:{caller.name}"

    app.state.limiter = Limiter(key_func=rate_key, application_limits=[current_rate], headers_enabled=False)
    app.add_middleware(SlowAPIASGIMiddleware)


def current_rate() -> str:
    return CURRENT_RATE.get()


def rate_of(caller: Caller, service: Service) -> str:
    rate = None if caller.is_anonymous else service.registry.rate(caller.name)
    return per_worker(rate or service.settings.rate(caller.scope), service.workers)


def _errors(app: FastAPI) -> None:
    """Every refusal is `{"error": code, "detail": text}`; never a traceback."""

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, error: StarletteHTTPException) -> Response:
        return error_response(error.status_code, str(error.detail))

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, error: RequestValidationError) -> Response:
        detail = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in error.errors())
        return error_response(422, detail)

    @app.exception_handler(RateLimitExceeded)  # synchronous: slowapi's middleware calls only those
    def too_many(request: Request, error: RateLimitExceeded) -> Response:
        return error_response(429, f"rate limit {error.detail} exceeded; retry later")


def error_response(status: int, detail: str) -> JSONBody:
    return JSONBody({"error": ERROR_CODES.get(status, "error"), "detail": detail}, status_code=status)


class Audit:
    """Names each request's caller, then appends the request to the access log as its response starts.

    Pure ASGI (not `@app.middleware("http")`, Starlette's BaseHTTPMiddleware, which runs every request through
    an extra task and memory stream): this runs on every request. The record is written before the response
    is sent, so a stopped or killed server loses none."""

    def __init__(self, app: ASGIApp, service: Service) -> None:
        self.app = app
        self.service = service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        request = Request(scope)
        request.state.rows = 0
        caller, refusal = authenticate(request, self.service.registry)
        request.state.caller = caller or OPEN_CALLER
        CURRENT_RATE.set(rate_of(request.state.caller, self.service))
        responded = False

        async def logged(message: Message) -> None:
            nonlocal responded
            if message["type"] == "http.response.start":
                responded = True
                self.service.log.append(_entry(request, message["status"], started))
            await send(message)

        if refusal is not None:
            await refusal(scope, receive, logged)
            return
        try:
            await self.app(scope, receive, logged)
        except Exception:
            LOG.exception("request %s %s failed", request.method, request.url.path)
            if responded:
                raise
            failed = error_response(
                500, "the request failed inside the service; the operator has the details"
            )
            await failed(scope, receive, logged)


def authenticate(request: Request, registry: Registry) -> tuple[Caller | None, Response | None]:
    """The caller of a request: a Bearer key, else (pages only) the cookie key, else the public."""
    header = request.headers.get("authorization")
    if header is not None:
        scheme, _, key = header.partition(" ")
        if scheme.lower() != "bearer" or not key.strip():
            return None, error_response(401, "Authorization must be 'Bearer <key>'")
        return _known(registry, key.strip())
    cookie = request.cookies.get(COOKIE)
    if cookie and not request.url.path.startswith("/v1/"):
        caller = registry.caller(cookie)
        return (caller, None) if caller else (None, None)  # a revoked cookie falls back to the open page
    return OPEN_CALLER, None


def _known(registry: Registry, key: str) -> tuple[Caller | None, Response | None]:
    caller = registry.caller(key)
    if caller is None:
        return None, error_response(401, "unknown, malformed or revoked key")
    return caller, None


def _entry(request: Request, status: int, started: float) -> access_log.Entry:
    caller: Caller = request.state.caller
    return access_log.Entry(
        requested_at=access_log.now(),
        caller=caller.name,
        scope=caller.scope,
        method=request.method,
        path=request.url.path,
        parameters=dict(request.query_params),
        status=status,
        rows=request.state.rows,
        duration_ms=round((time.perf_counter() - started) * 1000, 2),
        client=request.client.host if request.client else "",
    )


def check_districts(caller: Caller, district_code: str | None) -> None:
    if district_code and caller.districts and district_code not in caller.districts:
        raise HTTPException(403, f"this key is limited to districts {', '.join(caller.districts)}")


def _month(text: str | None, name: str) -> dt.date | None:
    """`YYYY-MM` or `YYYY-MM-DD` as the first of that month (index rows are monthly)."""
    if text is None:
        return None
    if not MONTH.match(text):
        raise HTTPException(422, f"{name}: expected YYYY-MM or YYYY-MM-DD")
    try:
        return dt.date.fromisoformat(text[:7] + "-01")
    except ValueError as error:
        raise HTTPException(422, f"{name}: {error}") from None


def _api_routes(app: FastAPI, service: Service) -> None:
    settings = service.settings

    @app.get("/v1/health", tags=["service"])
    def health(request: Request) -> Response:
        with reading(service) as (cursor, snapshot):
            return JSONBody(queries.health(cursor, snapshot.published_at))

    @app.get("/v1/entities", tags=["entities"])
    def search(
        request: Request,
        q: str | None = Query(None, max_length=200, description="name fragment or USCC prefix"),
        district_code: str | None = Query(None, pattern=r"^\d{6}$"),
        status: Literal[queries.STATUSES] | None = None,  # type: ignore[valid-type]
        entity_type: str | None = Query(None, max_length=100),
        page: int = Query(1, ge=1, le=1_000_000),
        page_size: int = Query(settings.default_page_size, ge=1, le=settings.max_page_size),
    ) -> Response:
        caller: Caller = request.state.caller
        check_districts(caller, district_code)
        query = queries.Search(q or None, district_code, status, entity_type, page, page_size)
        with reading(service) as (cursor, snapshot):
            result = queries.search(cursor, caller, query, snapshot.name_index)
        request.state.rows = len(result["items"])
        return JSONBody(result)

    @app.get("/v1/entities/by-uscc/{uscc}", tags=["entities"])
    def by_uscc(request: Request, uscc: str) -> Response:
        code = uscc.strip().upper()
        if not queries.is_uscc_text(code):
            raise HTTPException(422, "not a well-formed USCC (18 characters, GB 32100-2015)")
        with reading(service) as (cursor, _):
            entity_id = queries.entity_id_for_uscc(cursor, request.state.caller, code)
            found = entity_id and queries.profile(cursor, request.state.caller, entity_id)
        return _found(request, found, f"no entity with USCC {code}")

    @app.get("/v1/entities/{entity_id}", tags=["entities"])
    def entity(request: Request, entity_id: str) -> Response:
        with reading(service) as (cursor, _):
            found = queries.profile(cursor, request.state.caller, entity_id)
        return _found(request, found, f"no entity {entity_id}")

    @app.get("/v1/indices/district-monthly", tags=["indices"])
    def district_monthly(
        request: Request,
        district_code: str | None = Query(None, pattern=r"^\d{6}$"),
        from_: str | None = Query(None, alias="from", description="first month, YYYY-MM"),
        to: str | None = Query(None, description="last month, YYYY-MM"),
    ) -> Response:
        caller: Caller = request.state.caller
        check_districts(caller, district_code)
        with reading(service) as (cursor, _):
            rows = queries.district_monthly(
                cursor, caller, district_code, _month(from_, "from"), _month(to, "to")
            )
        request.state.rows = len(rows)
        return JSONBody({"items": rows})

    @app.get("/v1/access/summary", tags=["service"])
    def access_summary(
        request: Request, from_: str | None = Query(None, alias="from"), to: str | None = None
    ) -> Response:
        """Requests per caller (internal scope: auditors)."""
        if request.state.caller.scope != "internal":
            raise HTTPException(403, "the access summary is for internal callers")
        rows = access_log.summary(service.log.folder, from_ or "", to or "9999")
        request.state.rows = len(rows)
        return JSONBody({"items": rows})


def _found(request: Request, found: dict | None, missing: str) -> Response:
    if not found:
        raise HTTPException(404, missing)
    request.state.rows = 1
    return JSONBody(found)
