"""``GET /``: the web page (plain HTML, CSS and JavaScript served by the app; no build step), and
:class:`PageFiles`, the ``/static`` files it loads."""

from __future__ import annotations

from importlib import resources

from fastapi import APIRouter
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from starlette.responses import Response

router = APIRouter(include_in_schema=False)

STATIC = resources.files("service.api").joinpath("static")

#: Browsers ask again each time (a 304 when nothing changed), so an upgraded service's page is the
#: one they run, not a cached copy of the old one.
CACHE_CONTROL = "no-cache"
#: The page loads its own script and style alone (a proxy or an extension cannot add any), and
#: talks to the service that served it.
CONTENT_SECURITY_POLICY = "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'self'"


class PageFiles(StaticFiles):
    """The page's script and style, revalidated on every load (:data:`CACHE_CONTROL`)."""

    def file_response(self, *args, **kwargs) -> Response:
        """A static file's response, with the page's ``Cache-Control``."""
        response = super().file_response(*args, **kwargs)
        response.headers["Cache-Control"] = CACHE_CONTROL
        return response


@router.get("/", response_class=HTMLResponse)
async def page() -> HTMLResponse:
    """The web page: a text in, its spans and suggestions out, from the engine ``/v1`` answers with."""
    return HTMLResponse(STATIC.joinpath("index.html").read_text(encoding="utf-8"),
                        headers={"Cache-Control": CACHE_CONTROL, "Content-Security-Policy": CONTENT_SECURITY_POLICY})
