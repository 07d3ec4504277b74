"""Interfaces the use cases need from the outside world, each with a real and a fake adapter."""

from typing import Protocol

from rental.domain.fleet import Lock
from rental.domain.rentals import Rental


class LockChannelError(Exception):
    """The command could not be handed to the broker."""


class LockChannel(Protocol):
    def send_unlock(self, lock: Lock, rental: Rental) -> None: ...


class BrokerAccountsPort(Protocol):
    def create_lock_account(self, lock_id: str, password: str) -> None: ...
