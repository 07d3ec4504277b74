"""Sessions in memory: signing in, refresh tokens that rotate and betray their reuse,
signing out, a password change that signs the other devices out, and lifetimes by role."""

from datetime import UTC, datetime, timedelta

import pytest

from rental.domain.errors import Forbidden, NotAuthenticated
from rental.domain.riders import Role, User
from rental.domain.sessions import SessionEnd, TokenLifetimes, refresh_token_hash
from rental.services import accounts, sessions
from rental.services.commands.riders import ChangePassword, RefreshSession, RegisterUser, SignIn
from rental.services.sessions import IssuedTokens
from tests.unit.fakes import FakePasswords
from tests.unit.fakes.world import World

PASSWORD = "correct horse battery"
PASSWORDS = FakePasswords()
LIFETIMES = TokenLifetimes(
    rider_access_seconds=900,
    rider_refresh_seconds=30 * 86400,
    operator_access_seconds=300,
    operator_refresh_seconds=12 * 3600,
)
NOON = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


@pytest.fixture
def world() -> World:
    return World()


def account(world: World, role: Role = Role.RIDER, phone: str = "13800138000") -> User:
    command = RegisterUser(phone, PASSWORD, "Mei", role)
    return accounts.register(world.uow(), PASSWORDS, command)


def sign_in(world: World, user: User, at: datetime = NOON) -> IssuedTokens:
    return sessions.sign_in(world.uow(), PASSWORDS, LIFETIMES, SignIn(user.phone, PASSWORD), at)


def refresh(world: World, tokens: IssuedTokens, at: datetime = NOON) -> IssuedTokens:
    return sessions.refresh(world.uow(), LIFETIMES, RefreshSession(tokens.refresh_token), at)


def live(world: World, tokens: IssuedTokens, at: datetime = NOON) -> bool:
    try:
        sessions.check_live(world.uow(), tokens.session.id, at)
    except NotAuthenticated as ended:
        assert ended.code == "session_ended"
        return False
    return True


def refused(call, *args) -> str:
    with pytest.raises(NotAuthenticated) as error:
        call(*args)
    return error.value.code


def test_a_sign_in_opens_a_session_whose_refresh_token_is_kept_only_as_its_hash(world):
    rider = account(world)
    tokens = sign_in(world, rider)
    assert (tokens.session.user_id, tokens.session.role) == (rider.id, Role.RIDER)
    assert tokens.access_expires_at == NOON + timedelta(minutes=15)
    assert tokens.session.expires_at == NOON + timedelta(days=30)
    assert live(world, tokens)
    assert list(world.store.refresh_tokens) == [refresh_token_hash(tokens.refresh_token)]
    assert tokens.refresh_token.encode() not in list(world.store.refresh_tokens)


def test_an_operators_tokens_live_shorter_than_a_riders(world):
    tokens = sign_in(world, account(world, Role.OPERATOR))
    assert tokens.access_expires_at == NOON + timedelta(minutes=5)
    assert tokens.session.expires_at == NOON + timedelta(hours=12)


def test_a_wrong_password_opens_no_session(world):
    rider = account(world)
    command = SignIn(rider.phone, "not the password")
    code = refused(sessions.sign_in, world.uow(), PASSWORDS, LIFETIMES, command, NOON)
    assert code == "bad_credentials"
    assert world.store.sessions == {}


def test_a_refresh_gives_a_new_refresh_token_and_moves_the_sessions_end_on(world):
    first = sign_in(world, account(world))
    later = NOON + timedelta(days=20)
    second = refresh(world, first, later)
    assert second.refresh_token != first.refresh_token
    assert second.session.id == first.session.id
    assert second.session.expires_at == later + timedelta(days=30)
    assert second.access_expires_at == later + timedelta(minutes=15)
    third = refresh(world, second, later + timedelta(days=29))  # past the first's 30 days
    assert third.session.id == first.session.id


def test_a_refresh_token_used_twice_ends_its_whole_session(world):
    first = sign_in(world, account(world))
    second = refresh(world, first)  # say a thief's copy of `first` was used here ...
    assert refused(refresh, world, first) == "refresh_token_reused"  # ... then the rider's
    assert not live(world, first)
    # The newer token, whoever holds it, dies with the session.
    assert refused(refresh, world, second) == "session_ended"
    ended = world.store.sessions[first.session.id]
    assert ended.ended_because is SessionEnd.REFRESH_TOKEN_REUSED


def test_a_spent_token_that_comes_back_much_later_still_ends_the_session(world):
    first = sign_in(world, account(world))
    newest = refresh(world, refresh(world, refresh(world, first)))
    assert refused(refresh, world, first, NOON + timedelta(hours=1)) == "refresh_token_reused"
    assert refused(refresh, world, newest) == "session_ended"


def test_reuse_ends_only_that_session(world):
    rider = account(world)
    phone, laptop = sign_in(world, rider), sign_in(world, rider)
    refresh(world, phone)
    refused(refresh, world, phone)
    assert not live(world, phone)
    assert live(world, laptop)
    refresh(world, laptop)


def test_a_refresh_token_never_issued_is_refused_and_ends_nothing(world):
    tokens = sign_in(world, account(world))
    forged = IssuedTokens(tokens.session, "a" * 43, tokens.access_expires_at)
    assert refused(refresh, world, forged) == "invalid_refresh_token"
    assert live(world, tokens)


def test_a_session_expires_when_its_refresh_token_is_not_used_in_time(world):
    tokens = sign_in(world, account(world, Role.OPERATOR))
    after_shift = NOON + timedelta(hours=12)
    assert refused(refresh, world, tokens, after_shift) == "session_ended"
    assert not live(world, tokens, after_shift)
    assert live(world, tokens, after_shift - timedelta(seconds=1))


def test_an_access_token_never_outlives_its_session():
    short = TokenLifetimes(900, 600, 300, 120)
    world = World()
    user = account(world)
    tokens = sessions.sign_in(world.uow(), PASSWORDS, short, SignIn(user.phone, PASSWORD), NOON)
    assert tokens.access_expires_at == tokens.session.expires_at == NOON + timedelta(minutes=10)


def test_signing_out_ends_the_session_and_twice_is_fine(world):
    tokens = sign_in(world, account(world))
    sessions.sign_out(world.uow(), tokens.session.id, NOON)
    sessions.sign_out(world.uow(), tokens.session.id, NOON + timedelta(minutes=1))
    assert not live(world, tokens)
    assert refused(refresh, world, tokens) == "session_ended"
    ended = world.store.sessions[tokens.session.id]
    assert (ended.ended_at, ended.ended_because) == (NOON, SessionEnd.SIGNED_OUT)


def test_a_password_change_keeps_this_session_and_ends_the_others(world):
    rider, other_rider = account(world), account(world, phone="13900139000")
    here, elsewhere = sign_in(world, rider), sign_in(world, rider)
    stranger = sign_in(world, other_rider)
    command = ChangePassword(rider.id, here.session.id, PASSWORD, "a brand new password")
    assert sessions.change_password(world.uow(), PASSWORDS, command, NOON) == 1
    assert live(world, here) and live(world, stranger)
    assert not live(world, elsewhere)
    assert refused(refresh, world, elsewhere) == "session_ended"
    refresh(world, here)
    old = SignIn(rider.phone, PASSWORD)
    code = refused(sessions.sign_in, world.uow(), PASSWORDS, LIFETIMES, old, NOON)
    assert code == "bad_credentials"
    new = SignIn(rider.phone, "a brand new password")
    sessions.sign_in(world.uow(), PASSWORDS, LIFETIMES, new, NOON)


def test_a_password_change_needs_the_current_password(world):
    rider = account(world)
    here, elsewhere = sign_in(world, rider), sign_in(world, rider)
    command = ChangePassword(rider.id, here.session.id, "a guess", "a brand new password")
    hashed = PASSWORDS.hashed
    with pytest.raises(Forbidden) as wrong:
        sessions.change_password(world.uow(), PASSWORDS, command, NOON)
    assert wrong.value.code == "wrong_password"
    assert PASSWORDS.hashed == hashed  # no new hash made for a wrong guess
    assert live(world, elsewhere)
    sign_in(world, rider)  # the old password still works


def test_ended_sessions_and_spent_tokens_are_forgotten_after_a_while(world):
    rider = account(world)
    signed_out, active = sign_in(world, rider), sign_in(world, rider)
    sessions.sign_out(world.uow(), signed_out.session.id, NOON)
    newest = refresh(world, refresh(world, active), NOON + timedelta(days=20))
    with world.uow() as unit:
        forgotten = unit.sessions.forget_before(NOON + timedelta(days=1))
        unit.commit()
    # The signed-out session (its token goes with it) and the active one's two spent tokens.
    assert forgotten == 3
    assert set(world.store.sessions) == {active.session.id}
    assert list(world.store.refresh_tokens) == [refresh_token_hash(newest.refresh_token)]
    refresh(world, newest, NOON + timedelta(days=21))
