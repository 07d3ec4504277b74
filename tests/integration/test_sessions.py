"""Sessions on PostgreSQL: one refresh token spent once even when two requests race with
it, a password change that ends the other sessions, old sessions forgotten; and two
sign-ups racing with one texted code."""

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from rental.adapters.tables import refresh_tokens, users
from rental.adapters.tables import sessions as session_rows
from rental.domain.errors import NotAuthenticated
from rental.domain.sessions import TokenLifetimes, refresh_token_hash
from rental.services import phone_sign_in, sessions
from rental.services.commands.riders import (
    ChangePassword,
    RefreshSession,
    SendSignInCode,
    SignIn,
    SignUpWithCode,
)
from rental.services.phone_sign_in import CodeRules
from tests.helpers import RIDER_PASSWORD, make_user
from tests.unit.fakes.ports import FakeSms

LIFETIMES = TokenLifetimes(900, 30 * 86400, 300, 12 * 3600)


def sign_in(platform, user, now):
    command = SignIn(user.phone, RIDER_PASSWORD)
    return sessions.sign_in(platform.uow(), platform.passwords, LIFETIMES, command, now)


def count(platform, table) -> int:
    with platform.engine.connect() as connection:
        return int(connection.execute(select(func.count()).select_from(table)).scalar_one())


def test_two_refreshes_racing_with_one_token_end_the_session(platform):
    now = datetime.now(UTC)
    tokens = sign_in(platform, make_user(platform), now)
    start = threading.Barrier(2)

    def race(_: int) -> str:
        start.wait()
        try:
            sessions.refresh(platform.uow(), LIFETIMES, RefreshSession(tokens.refresh_token), now)
        except NotAuthenticated as refused:
            return refused.code
        return "refreshed"

    with ThreadPoolExecutor(max_workers=2) as pool:
        outcomes = sorted(pool.map(race, range(2)))
    # The row lock orders them: the second sees the token spent, as if a thief came second.
    assert outcomes == ["refresh_token_reused", "refreshed"]
    with platform.uow() as uow:
        assert not uow.sessions.is_live(tokens.session.id, now)


def test_only_hashes_of_refresh_tokens_are_stored(platform):
    tokens = sign_in(platform, make_user(platform), datetime.now(UTC))
    with platform.engine.connect() as connection:
        stored = connection.execute(select(refresh_tokens.c.token_hash)).scalars().all()
    assert [bytes(value) for value in stored] == [refresh_token_hash(tokens.refresh_token)]


def test_a_password_change_ends_the_accounts_other_sessions_only(platform):
    now = datetime.now(UTC)
    user, someone_else = make_user(platform), make_user(platform)
    here, elsewhere, other = (
        sign_in(platform, user, now),
        sign_in(platform, user, now),
        sign_in(platform, someone_else, now),
    )
    command = ChangePassword(user.id, here.session.id, RIDER_PASSWORD, "a brand new password")
    assert sessions.change_password(platform.uow(), platform.passwords, command, now) == 1
    with platform.uow() as uow:
        live = {
            t.session.id: uow.sessions.is_live(t.session.id, now) for t in (here, elsewhere, other)
        }
    assert live == {here.session.id: True, elsewhere.session.id: False, other.session.id: True}


def test_ended_sessions_and_spent_tokens_are_forgotten_after_the_longest_refresh(platform):
    start = datetime.now(UTC) - timedelta(days=45)
    user = make_user(platform)
    signed_out, active = sign_in(platform, user, start), sign_in(platform, user, start)
    sessions.sign_out(platform.uow(), signed_out.session.id, start)
    renewed = sessions.refresh(
        platform.uow(), LIFETIMES, RefreshSession(active.refresh_token), start + timedelta(days=20)
    )
    now = start + timedelta(days=45)
    keep = LIFETIMES.longest_refresh()
    # The signed-out session (its token goes with it) and the active one's spent token.
    assert sessions.forget_old_sessions(platform.uow(), now, keep) == 2
    assert (count(platform, session_rows), count(platform, refresh_tokens)) == (1, 1)
    sessions.refresh(platform.uow(), LIFETIMES, RefreshSession(renewed.refresh_token), now)


def test_two_sign_ups_racing_with_one_code_make_one_account_and_one_session(platform):
    sms = FakeSms()
    rules = CodeRules(b"test-secret", "CN")
    sent = SendSignInCode("13700000042")
    phone_sign_in.send_sign_in_code(platform.uow(), sms, rules, sent, platform.now())
    start = threading.Barrier(2)

    def sign_up(name: str) -> str:
        start.wait()
        command = SignUpWithCode("13700000042", sms.sent[-1][1], name, None)
        try:
            phone_sign_in.sign_up_with_code(
                platform.uow(), platform.passwords, rules, LIFETIMES, command, platform.now()
            )
        except NotAuthenticated as refused:
            return refused.code
        return "signed up"

    with ThreadPoolExecutor(max_workers=2) as pool:
        answers = sorted(pool.map(sign_up, ["First", "Second"]))
    assert answers == ["bad_code", "signed up"]  # the code signs in once
    assert count(platform, users) == 1
