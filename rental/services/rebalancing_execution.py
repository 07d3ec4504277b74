"""Drivers carry out a plan stop by stop; the bikes' states follow.

At a pick-up the planned bikes go on the truck (`rebalance_pick_up`: out of riders'
sight). Bikes that meanwhile got a rider, a hold or a fault stay where they are and are
reported as not moved. At a drop-off the bikes the truck carries come off first in, first
out, and go back into service where they are put down (`rebalance_drop_off`). Bikes the
depot supplied are not in the platform's books until an operator registers them, so a
drop-off names only the bikes the truck picked up on its way.
"""

import uuid
from dataclasses import dataclass
from datetime import datetime

from rental.domain.errors import Conflict, NotFound
from rental.services.maintenance import RebalanceStep, move_bike
from rental.services.rebalancing_commands import MarkStopDone
from rental.services.unit_of_work import UnitOfWork


@dataclass(frozen=True)
class StopDone:
    moved: list[str]  # asset ids
    not_moved: dict[str, str]  # asset id: why
    already_done: bool = False


def mark_stop_done(uow: UnitOfWork, command: MarkStopDone, now: datetime) -> StopDone:
    plan_id, truck = command.plan_id, command.truck
    with uow:
        plan = uow.rebalancing.plan(plan_id)
        if plan is None or not plan.is_drivable():
            raise NotFound("no such plan ready to drive", "plan_not_found")
        stop = uow.rebalancing.stop_for_update(plan_id, truck, command.seq)
        if stop is None:
            raise NotFound("no such stop in this plan", "stop_not_found")
        if stop.done_at is not None:
            return StopDone([str(a) for a in stop.asset_ids], {}, already_done=True)
        if stop.is_pick_up:
            bikes, step, position = list(stop.asset_ids), RebalanceStep.PICK_UP, None
        else:
            bikes = _on_board(uow, plan_id, truck)[: -stop.bikes]
            step, position = RebalanceStep.DROP_OFF, stop.position
        moved: list[uuid.UUID] = []
        not_moved: dict[str, str] = {}
        for asset_id in bikes:
            asset = uow.assets.get(asset_id)
            if asset is None:
                not_moved[str(asset_id)] = "asset_not_found"
                continue
            try:
                # A refusal comes before `move_bike` writes anything: nothing to undo.
                move_bike(uow, asset.code, step, now, position)
                moved.append(asset_id)
            except (Conflict, NotFound) as refused:
                not_moved[str(asset_id)] = refused.code
        uow.rebalancing.mark_done(plan_id, truck, command.seq, now, moved)
        uow.commit()
    return StopDone([str(a) for a in moved], not_moved)


def _on_board(uow: UnitOfWork, plan_id: uuid.UUID, truck: int) -> list[uuid.UUID]:
    """Bikes this truck picked up at stops done, not yet put down; first in, first out."""
    picked: list[uuid.UUID] = []
    dropped: set[uuid.UUID] = set()
    for stop in uow.rebalancing.stops(plan_id):
        if stop.truck != truck or stop.done_at is None:
            continue
        if stop.is_pick_up:
            picked += stop.asset_ids
        else:
            dropped.update(stop.asset_ids)
    return [bike for bike in picked if bike not in dropped]
