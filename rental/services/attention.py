"""Everything in a city an operator should look at, in one list, most urgent kind first:
locks offline or silent, batteries running low, latches open without a rental, items in
the wrong cabinet, lock messages that could not be processed (dead letters), and payments
or refunds the gateway has left hanging.

Stored alerts (`rental.services.alerts`) and dead letters are read as kept; the rest is
read from the fleet and the payments as they stand now, so it clears itself when the
cause does (a lock back online, a battery swapped, the gateway's answer arriving).
"""

from datetime import datetime, timedelta

from rental.domain.fleet import ServicePolicy
from rental.services.attention_items import ORDER, Attention, AttentionKind
from rental.services.cities import check_known
from rental.services.unit_of_work import UnitOfWork

# A payment order still pending this long after it should have been paid or expired, or a
# refund still processing this long after it was asked: the gateway's news never came.
STUCK_PAYMENT_AFTER = timedelta(minutes=30)
STUCK_REFUND_AFTER = timedelta(hours=1)
DEAD_LETTERS_SHOWN = 50


def needing_attention(
    uow: UnitOfWork, city_id: str, now: datetime, policy: ServicePolicy
) -> list[Attention]:
    """The city's list, most urgent kind first and oldest first within a kind; dead
    letters and payments of every city are in every city's list."""
    with uow:
        check_known(uow, city_id)
        found = [
            Attention(
                AttentionKind(alert.kind.value),
                alert.asset_code or alert.lock_id,
                alert.detail,
                alert.opened_at,
                alert.city_id,
            )
            for alert in uow.alerts.list(city_id)
        ]
        found += uow.operations.devices_needing_attention(city_id, now, policy)
        found += [
            Attention(
                AttentionKind.DEAD_LETTER,
                str(letter.id),
                f"{letter.topic}: {letter.reason}",
                letter.received_at,
                None,
            )
            for letter in uow.dead_letters.list(open_only=True, limit=DEAD_LETTERS_SHOWN)
        ]
        found += uow.operations.stuck_payments(now - STUCK_PAYMENT_AFTER, now - STUCK_REFUND_AFTER)
    return sorted(found, key=lambda item: (ORDER.index(item.kind), item.since or now, item.subject))
