"""The web server: the page, a stream of snapshots per tab, and the controls, on Starlette.

Watching needs nothing; pressing a control is a JSON POST that may need the token printed at
start. A request names controls, scenarios and groups only from fixed lists and a key as text:
nothing in it reaches a shell, a file path or a topic outside the shop's prefix.
"""

import asyncio
import contextlib
import json
import secrets
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from importlib import resources
from typing import Any
from urllib.parse import urlsplit

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response, StreamingResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from fishchips.controls import PAGE_CONTROLS
from fishchips.errors import FishchipsError
from fishchips.scenarios import SCENARIOS
from fishchips.web.hub import Hub
from fishchips.web.live import REWINDABLE, LiveShop

TICK = 0.1  # seconds: at most ten snapshots a second to each tab, however busy the shop
MAX_BODY = 2048  # bytes: every control's request is a small JSON object
MAX_KEY = 100  # characters of a hand-taken order's key
TOKEN_HEADER = "X-Fishchips-Token"


def new_token() -> str:
    return secrets.token_urlsafe(16)


def fail(status: int, reason: str) -> HTTPException:
    return HTTPException(status, reason)


async def as_json_error(request: Request, exc: Exception) -> JSONResponse:
    """Every refusal as {"error": "..."} with its status: the page shows the reason as it is."""
    assert isinstance(exc, HTTPException)
    return JSONResponse({"error": exc.detail}, status_code=exc.status_code)


def create_app(live: LiveShop, token: str | None = None, open_shop: bool = True) -> Starlette:
    """The app for one live shop; `token`: controls need it (None: they need none); `open_shop`: open it at start-up."""
    hub = Hub()

    async def tick() -> None:
        sent = -1
        while True:
            if hub.tabs and live.version != sent:
                sent = live.version
                hub.broadcast(json.dumps(live.snapshot(), separators=(",", ":")))
            await asyncio.sleep(TICK)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        loop = asyncio.get_running_loop()
        # for the server's Ctrl-C handler (a signal handler: it may not touch the loop's queues itself, only ask the loop)
        app.state.end_streams = lambda: loop.call_soon_threadsafe(hub.close)
        ticker = asyncio.create_task(tick())
        opening = asyncio.create_task(asyncio.to_thread(live.open)) if open_shop else None
        try:
            yield
        finally:
            hub.close()
            ticker.cancel()
            if opening is not None:
                await opening
            await asyncio.to_thread(live.close)

    async def page(request: Request) -> Response:
        return HTMLResponse(resources.files("fishchips.web").joinpath("static/index.html").read_text(encoding="utf-8"))

    async def state(request: Request) -> Response:
        return JSONResponse({**live.snapshot(), "tabs": len(hub.tabs), "dropped_tabs": hub.dropped})

    async def events(request: Request) -> Response:
        headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
        if not hub.latest:
            hub.latest = json.dumps(live.snapshot(), separators=(",", ":"))
        return StreamingResponse(hub.stream(hub.join()), media_type="text/event-stream", headers=headers)

    async def body_of(request: Request) -> dict[str, Any]:
        """The control request, checked: same site, token, JSON, small, an object."""
        origin = request.headers.get("origin")
        if origin and urlsplit(origin).netloc != request.headers.get("host"):
            raise fail(403, f"a control from another site ({origin}) is refused")
        if token is not None and not secrets.compare_digest(request.headers.get(TOKEN_HEADER, ""), token):
            raise fail(403, "controls need the token printed when the server started: open the address with ?token=...")
        if request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
            raise fail(415, "send the control as JSON (Content-Type: application/json)")
        raw = await request.body()
        if len(raw) > MAX_BODY:
            raise fail(413, f"a control's request is at most {MAX_BODY} bytes")
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            raise fail(400, "the request is not valid JSON") from None
        if not isinstance(body, dict):
            raise fail(400, "the request must be a JSON object")
        return body

    async def run(action: Any, *args: Any) -> Any:
        """A control blocks on Kafka for a moment: run it off the event loop; a refusal is a 409 with the reason.

        Ctrl-C while one runs (a scenario opens in about 2 s): the server lets it finish, for some seconds
        (cli/web.py), then cancels the request. The control's thread runs on to its end anyway, and the shop
        closes after it; the request answers 503, not a cancelled task for uvicorn to print as a traceback."""
        try:
            return await asyncio.to_thread(action, *args)
        except FishchipsError as exc:
            raise fail(409, str(exc)) from None
        except asyncio.CancelledError:
            raise fail(503, "the server is stopping: the shop closes once this control is done") from None

    async def control(request: Request) -> Response:
        name = request.path_params["name"]
        await body_of(request)
        if name not in PAGE_CONTROLS:
            raise fail(404, f"no control {name!r}: choose one of {', '.join(PAGE_CONTROLS)}")
        return JSONResponse({"done": await run(live.control, name)})

    async def scenario(request: Request) -> Response:
        name = (await body_of(request)).get("name")
        if name not in SCENARIOS:
            raise fail(400, f"no scenario {name!r}: choose one of {', '.join(SCENARIOS)}")
        return JSONResponse({"done": await run(live.switch, name)})

    async def order(request: Request) -> Response:
        key = (await body_of(request)).get("key")
        if not isinstance(key, str) or not key or len(key) > MAX_KEY or not key.isprintable():
            raise fail(400, f"the key must be printable text of 1 to {MAX_KEY} characters")
        return JSONResponse(await run(live.take_order, key))

    async def rewind(request: Request) -> Response:
        body = await body_of(request)
        group, to = body.get("group"), body.get("to", "beginning")
        if group not in REWINDABLE:
            raise fail(400, f"no group {group!r} to rewind: choose one of {', '.join(REWINDABLE)}")
        return JSONResponse(await run(live.rewind, group, rewind_time(to)))

    async def lesson_step(request: Request) -> Response:
        number = (await body_of(request)).get("step")
        if not isinstance(number, int) or isinstance(number, bool):
            raise fail(400, 'say the step as a number, e.g. {"step": 2}')
        return JSONResponse({"done": await run(live.lesson_step, number)})

    async def lesson_action(request: Request) -> Response:
        await body_of(request)
        return JSONResponse({"done": await run(live.lesson_action)})

    async def not_found(request: Request) -> Response:
        raise fail(404, f"nothing at {request.url.path}: the page is at /")

    routes = [
        Route("/", page),
        Route("/api/state", state),
        Route("/api/events", events),
        Route("/api/control/{name}", control, methods=["POST"]),
        Route("/api/scenario", scenario, methods=["POST"]),
        Route("/api/order", order, methods=["POST"]),
        Route("/api/rewind", rewind, methods=["POST"]),
        Route("/api/lesson/step", lesson_step, methods=["POST"]),
        Route("/api/lesson/action", lesson_action, methods=["POST"]),
        Mount("/static", StaticFiles(packages=[("fishchips.web", "static")]), name="static"),
        Route("/{path:path}", not_found, methods=["GET", "POST", "PUT", "DELETE", "PATCH"]),
    ]
    return Starlette(routes=routes, lifespan=lifespan, exception_handlers={HTTPException: as_json_error})


def rewind_time(to: object) -> datetime | None:
    """ "beginning" -> None, or an ISO 8601 time with its zone, not in the future."""
    if to == "beginning":
        return None
    if not isinstance(to, str):
        raise fail(400, 'rewind "to" must be "beginning" or an ISO 8601 time such as 2026-11-29T18:00:00Z')
    try:
        when = datetime.fromisoformat(to)
    except ValueError:
        raise fail(400, f'rewind "to": {to!r} is not "beginning" nor an ISO 8601 time such as 2026-11-29T18:00:00Z') from None
    if when.tzinfo is None:
        raise fail(400, f'rewind "to": {to!r} has no time zone: add Z for UTC or an offset such as +01:00')
    if when > datetime.now(UTC):
        raise fail(400, f'rewind "to": {to} has not come yet')
    return when
