"""The officer page (经济主体查询): search by name or USCC, then one entity's profile, server-rendered in Chinese.

It reads through the same query path as the API (queries.py), so a page never shows what the caller's scope
would not get as JSON. Without a key it is the open page; an internal key entered once is kept in an HttpOnly
cookie. Templates autoescape every value; the CSS is inline, so nothing is fetched from elsewhere.
"""

from __future__ import annotations

from pathlib import Path

import jinja2
from fastapi import FastAPI, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from pipelines.service import queries
from pipelines.service.context import COOKIE, Service, reading
from pipelines.service.keys import Caller

TEMPLATES = jinja2.Environment(
    loader=jinja2.FileSystemLoader(Path(__file__).with_name("templates")),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
)
SCOPE_ZH = {"open": "公开（未登录）", "partner": "部门共享", "internal": "内部"}
STATUS_ZH = {
    "active": "存续/在业",
    "revoked": "吊销",
    "deregistered": "注销",
    "moved_out": "迁出",
    "cancelled": "撤销",
    "unknown": "未知",
}
PAGE_SIZE = 20


def render(name: str, status: int = 200, message: str | None = None, **context: object) -> HTMLResponse:
    html = TEMPLATES.get_template(name).render(
        scope_zh=SCOPE_ZH, status_zh=STATUS_ZH, message=message, **context
    )
    return HTMLResponse(html, status_code=status)


def add_routes(app: FastAPI, service: Service) -> None:
    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def search_page(
        request: Request, q: str = Query("", max_length=200), page: int = Query(1, ge=1, le=10_000)
    ) -> Response:
        caller: Caller = request.state.caller
        result = None
        if q.strip():
            with reading(service) as (cursor, snapshot):
                query = queries.Search(q=q.strip(), page=page, page_size=PAGE_SIZE)
                result = queries.search(cursor, caller, query, snapshot.name_index)
            request.state.rows = len(result["items"])
        return render("search.html", caller=caller, q=q, result=result)

    @app.get("/entity/{entity_id}", response_class=HTMLResponse, include_in_schema=False)
    def entity_page(request: Request, entity_id: str) -> Response:
        caller: Caller = request.state.caller
        with reading(service) as (cursor, _):
            found = queries.profile(cursor, caller, entity_id)
        if found is None:
            return render(
                "search.html",
                status=404,
                caller=caller,
                q="",
                result=None,
                message=f"未找到经济主体 {entity_id}",
            )
        request.state.rows = 1
        return render("entity.html", caller=caller, p=found)

    @app.post("/key", include_in_schema=False)
    def enter_key(request: Request, key: str = Form(..., max_length=200)) -> Response:
        caller = service.registry.caller(key.strip())
        if caller is None:
            return render(
                "search.html",
                status=401,
                caller=request.state.caller,
                q="",
                result=None,
                message="密钥无效或已停用",
            )
        response = RedirectResponse("/", status_code=303)
        response.set_cookie(
            COOKIE,
            key.strip(),
            max_age=service.settings.cookie_max_age_seconds,
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
            path="/",
        )
        return response

    @app.post("/logout", include_in_schema=False)
    def forget_key() -> Response:
        response = RedirectResponse("/", status_code=303)
        response.delete_cookie(COOKIE, path="/")
        return response
