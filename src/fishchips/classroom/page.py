"""The room's page, over HTTPS on the room's address: what `fishchips join` asks for, and the room for all to see.

GET /ca.pem hands out the room's CA certificate; the student trusts it only if its fingerprint is the
one in their join code, and from then on verifies this page and the broker with it. POST /join
exchanges a one-time secret for the student's SCRAM password and grants their role's ACLs.

GET / is the room (panel.py): each student, their members of the preparers' group, partitions and
what they served. Anyone on the room's network may watch. The teacher's controls (remove a student,
freeze the room, reset it) need the teacher's token, which `class start` prints in the page's
address and which only the teacher's user can read (room.json, mode 0600): a request without it
is refused, whoever sends it.

It is a small Starlette app run by uvicorn as a detached process of its own, like the broker:
`fishchips class start` starts it, `class stop` stops it.
"""

import asyncio
import contextlib
import hmac
import socket
import sys
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import msgspec
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from fishchips.broker.embedded import EmbeddedBroker
from fishchips.classroom.accounts import admit, remove_student, reset_room, teacher_admin
from fishchips.classroom.code import JoinError
from fishchips.classroom.panel import RoomWatch
from fishchips.classroom.room import RoomFile
from fishchips.errors import FishchipsError
from fishchips.services.local_server import LocalServer

MAX_BODY = 1024  # bytes: a claim is a user, a secret and a role; a control, a name at most
TOKEN_HEADER = "X-Fishchips-Token"  # the teacher's token, as `fishchips web` asks for its own


class Claim(msgspec.Struct, forbid_unknown_fields=True):
    user: str
    secret: str
    role: str


def room_app(data: Path, watch: bool = True) -> Starlette:
    """The page of the room kept in the broker data dir `data`; `watch`: look at Kafka once a second for the panel."""
    broker, room_file = EmbeddedBroker(data), RoomFile(data)
    watcher = RoomWatch(data)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if watch:
            watcher.start()
        try:
            yield
        finally:
            if watch:
                await asyncio.to_thread(watcher.close)

    async def ca(request: Request) -> Response:
        return Response(broker.tls_files.ca.read_bytes(), media_type="application/x-pem-file")

    async def join(request: Request) -> Response:
        body = await request.body()
        try:
            claim = msgspec.json.decode(body[:MAX_BODY], type=Claim)
            room, password = await asyncio.to_thread(room_file.claim, claim.user, claim.secret, claim.role)
            await asyncio.to_thread(admit, teacher_admin(data), claim.user, claim.role, room.prefix)
        except msgspec.DecodeError:
            return JSONResponse({"error": "a claim is JSON: user, secret and role"}, status_code=400)
        except JoinError as exc:
            return JSONResponse({"error": str(exc)}, status_code=403)
        except FishchipsError as exc:
            return JSONResponse({"error": f"the teacher's broker: {exc}"}, status_code=503)
        return JSONResponse({"password": password})

    def is_teacher(request: Request) -> bool:
        room = room_file.read()
        given = request.headers.get(TOKEN_HEADER, "")
        return room is not None and bool(room.token) and hmac.compare_digest(given, room.token)

    async def page(request: Request) -> Response:
        return HTMLResponse(resources.files("fishchips.classroom").joinpath("static/room.html").read_text(encoding="utf-8"))

    async def state(request: Request) -> Response:
        return JSONResponse(watcher.to_json(teacher=is_teacher(request)))

    def control(action: Callable[[dict[str, Any]], str]) -> Callable[[Request], Any]:
        """A teacher's control: refused without the teacher's token; its answer is what happened, in words."""

        async def endpoint(request: Request) -> Response:
            if not is_teacher(request):
                return JSONResponse({"error": "only the teacher may do this: the page's controls need the token `class start` printed"}, 403)
            try:
                body = msgspec.json.decode((await request.body())[:MAX_BODY] or b"{}", type=dict[str, Any])
                return JSONResponse({"done": await asyncio.to_thread(action, body)})
            except msgspec.DecodeError:
                return JSONResponse({"error": "send the control as a JSON object"}, status_code=400)
            except FishchipsError as exc:
                return JSONResponse({"error": str(exc)}, status_code=409)

        return endpoint

    def remove(body: dict[str, Any]) -> str:
        name = str(body.get("name", ""))
        remove_student(data, name)
        return f"{name} is removed from the class: their next request to Kafka is refused, and their partitions move"

    def freeze(body: dict[str, Any]) -> str:
        frozen = body.get("frozen")
        if not isinstance(frozen, bool):
            raise FishchipsError('say {"frozen": true} to freeze the room, {"frozen": false} to thaw it')
        room_file.freeze(frozen)
        return "the room is frozen: no one joins the group until you thaw it" if frozen else "the room is thawed: students may join again"

    def reset(body: dict[str, Any]) -> str:
        return f"the room is empty ({reset_room(data)} students removed): `fishchips class start --students N` for the next class"

    routes = [
        Route("/", page),
        Route("/ca.pem", ca),
        Route("/join", join, methods=["POST"]),
        Route("/api/room", state),
        Route("/api/room/remove", control(remove), methods=["POST"]),
        Route("/api/room/freeze", control(freeze), methods=["POST"]),
        Route("/api/room/reset", control(reset), methods=["POST"]),
    ]
    return Starlette(routes=routes, lifespan=lifespan)


@dataclass
class PageState:
    pid: int
    host: str
    port: int


class PageError(FishchipsError):
    """The room's page could not be started."""


class RoomPage(LocalServer[PageState]):
    """The room's page as a detached process, with its state and log beside the broker's."""

    title = "the room's page"
    error = PageError
    state_name = "page.json"
    timeout_hint = ""

    def __init__(self, data: Path) -> None:
        super().__init__(data, PageState)

    @property
    def log_file(self) -> Path:
        return self.data / "logs" / "page.log"

    def marks(self) -> tuple[str, ...]:
        return "fishchips.classroom.page", str(self.data)

    def start(self, host: str, port: int, timeout: float = 20.0) -> None:
        """Start it on host:port (HTTPS with the broker's certificate), unless it runs; return once it answers."""
        if self.found()[1]:
            return
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        pid = self.detach([sys.executable, "-m", "fishchips.classroom.page", str(self.data), host, str(port)], self.log_file)
        self.write_state(PageState(pid, host, port))
        self.wait_ready(pid, lambda: _answers(host, port), timeout, f"{host}:{port}")


def _answers(host: str, port: int) -> bool:
    try:
        socket.create_connection((host, port), timeout=0.5).close()
    except OSError:
        return False
    return True


def serve(data: Path, host: str, port: int) -> None:
    """Serve the page until SIGTERM, with the broker's key and certificate chain (it names the room's address)."""
    chain = str(EmbeddedBroker(data).tls_files.broker)
    uvicorn.run(room_app(data), host=host, port=port, ssl_certfile=chain, ssl_keyfile=chain, log_level="warning")


if __name__ == "__main__":
    serve(Path(sys.argv[1]), sys.argv[2], int(sys.argv[3]))
