"""The room's page: the two requests a student's `fishchips join` makes, over HTTPS on the room's address.

GET /ca.pem hands out the room's CA certificate; the student trusts it only if its fingerprint is the
one in their join code, and from then on verifies this page and the broker with it. POST /join
exchanges a one-time secret for the student's SCRAM password and grants their role's ACLs.

It is a small Starlette app (`fishchips web` can mount it later) run by uvicorn as a detached
process of its own, like the broker: `fishchips class start` starts it, `class stop` stops it.
"""

import socket
import sys
from dataclasses import dataclass
from pathlib import Path

import msgspec
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from fishchips.broker.embedded import EmbeddedBroker
from fishchips.classroom.accounts import admit, teacher_admin
from fishchips.classroom.code import JoinError
from fishchips.classroom.room import RoomFile
from fishchips.errors import FishchipsError
from fishchips.services.local_server import LocalServer

MAX_BODY = 1024  # bytes: a claim is a user, a secret and a role


class Claim(msgspec.Struct, forbid_unknown_fields=True):
    user: str
    secret: str
    role: str


def room_app(data: Path) -> Starlette:
    """The page's two routes for the room kept in the broker data dir `data`."""
    broker, room_file = EmbeddedBroker(data), RoomFile(data)

    async def ca(request: Request) -> Response:
        return Response(broker.tls_files.ca.read_bytes(), media_type="application/x-pem-file")

    async def join(request: Request) -> Response:
        body = await request.body()
        try:
            claim = msgspec.json.decode(body[:MAX_BODY], type=Claim)
            room, password = room_file.claim(claim.user, claim.secret, claim.role)
            admit(teacher_admin(data), claim.user, claim.role, room.prefix)
        except msgspec.DecodeError:
            return JSONResponse({"error": "a claim is JSON: user, secret and role"}, status_code=400)
        except JoinError as exc:
            return JSONResponse({"error": str(exc)}, status_code=403)
        except FishchipsError as exc:
            return JSONResponse({"error": f"the teacher's broker: {exc}"}, status_code=503)
        return JSONResponse({"password": password})

    return Starlette(routes=[Route("/ca.pem", ca), Route("/join", join, methods=["POST"])])


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
