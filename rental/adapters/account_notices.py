"""Notices to account owners (the `AccountNotices` port), until the platform sends SMS.

There is no SMS channel yet, so a notice is a log line naming the account (never the
phone number: logs are read by more people than the accounts' data). When SMS comes, an
adapter that texts the account's phone takes this one's place in `rental.bootstrap`.
"""

import logging

from rental.domain.riders import User

log = logging.getLogger(__name__)


class LoggedAccountNotices:
    def sign_up_attempted(self, owner: User) -> None:
        log.info("a sign-up was tried with the phone number of account %s", owner.id)
