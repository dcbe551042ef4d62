"""The hub's membership snapshot: what a broadcast iterates, rebuilt only on a change."""

from __future__ import annotations

from nova_cli import process
from nova_cli.pubsub._hub import Hub


def test_a_broadcast_iterates_one_snapshot_until_membership_changes() -> None:
    hub, a, b = Hub(), process.new_pid(), process.new_pid()
    hub.join("chat", a)
    hub.join("chat", b)
    first = hub.snapshot("chat")
    assert sorted(first) == sorted((a, b))
    assert hub.snapshot("chat") is first  # no copy per broadcast
    hub.join("chat", a)  # pg: a second join is a second membership
    second = hub.snapshot("chat")
    assert second is not first and sorted(second) == sorted((a, a, b))
    assert sorted(first) == sorted((a, b))  # the old one is untouched
    hub.leave("chat", a)
    assert sorted(hub.snapshot("chat")) == sorted((a, b))
    hub.leave_all(a)
    assert hub.snapshot("chat") == (b,)
    hub.leave("chat", b)
    assert hub.snapshot("chat") == () and hub.channels() == []


def test_members_is_a_list_of_its_own() -> None:
    hub, a = Hub(), process.new_pid()
    hub.join("chat", a)
    listed = hub.members("chat")
    listed.append(a)  # the caller's list: the hub's members do not change
    assert hub.members("chat") == [a]


async def test_a_member_that_joins_during_a_delivery_gets_the_next_one() -> None:
    hub = Hub()
    got: list[str] = []

    class Joiner(process.Process):
        def deliver(self, message: object, size: int = 0) -> None:
            got.append(f"{self.pid.id}:{message}")
            hub.join("chat", late.pid)  # joins mid-iteration: not this broadcast's member

    first, late = Joiner(), Joiner()
    first.register()
    late.register()
    try:
        hub.join("chat", first.pid)
        assert hub.deliver("chat", ("m", 1), 0) == 1
        assert hub.deliver("chat", ("m", 2), 0) == 2
    finally:
        first.exit()
        late.exit()
    one, two = first.pid.id, late.pid.id
    assert got == [f"{one}:('m', 1)", f"{one}:('m', 2)", f"{two}:('m', 2)"]
