"""Hot reads (a session still live, nearby vehicles) skip the ping before each use of a
pooled connection; a connection the server has ended is still never used."""

import time

from sqlalchemy import text

from rental.bootstrap import Platform
from rental.config import Config


def backend_of(platform: Platform) -> int:
    with platform.reader() as uow:
        return int(uow.connection.execute(text("SELECT pg_backend_pid()")).scalar_one())


def test_a_pooled_connection_the_server_ended_is_replaced_before_a_hot_read(database_url):
    platform = Platform(Config(DATABASE_URL=database_url, SECRET_KEY="test-secret"))
    try:
        ended = backend_of(platform)  # the one connection in the pool, now idle
        with platform.engine.connect() as admin:
            admin.execute(text("SELECT pg_terminate_backend(:pid, 5000)"), {"pid": ended})
        time.sleep(0.1)  # the server's goodbye reaches the socket

        assert backend_of(platform) != ended  # no error: another connection served
    finally:
        platform.dispose()
