"""One real redis-server for the whole test run (the hot cabinet's), on a free port in a throw-away dir."""

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from fishchips.services.redis_server import LocalRedis, RedisStatus

os.environ.pop("REDIS_URL", None)  # the user's Redis is not the tests'


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisStatus]:
    """The session's Redis; stopped (and checked gone) when the run ends."""
    server = LocalRedis(tmp_path_factory.mktemp("redis"))
    status = server.start()
    yield status
    server.stop()
    assert not server.status().running


@pytest.fixture(scope="session")
def redis_url(redis_server: RedisStatus) -> str:
    assert redis_server.url
    return redis_server.url


@pytest.fixture
def own_server(tmp_path: Path) -> Iterator[LocalRedis]:
    """A Redis of the test's own, which it may stop and start."""
    server = LocalRedis(tmp_path / "redis")
    server.start()
    yield server
    server.stop()
