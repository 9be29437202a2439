"""The hub's fan-out: one slow reader neither stalls the others nor loses its frames; a reader
that stops for good is closed once its backlog is full."""

from __future__ import annotations

import asyncio

from apps.realtime import hub as hub_module
from apps.realtime.hub import Hub


class FakeSocket:
    def __init__(self, name: str, gate: asyncio.Event | None = None) -> None:
        self.socket_id = name
        self.gate = gate
        self.got: list[str] = []
        self.closed_with = None

    async def base_send(self, message: dict) -> None:
        if self.gate is not None:
            await self.gate.wait()
        self.got.append(message["text"])

    async def close(self, code: int) -> None:
        self.closed_with = code

    __hash__ = object.__hash__


def _message(i: int) -> dict:
    return {"type": "realtime.event", "topic": "market", "event": "price.updated", "frame": f"frame-{i}"}


async def test_a_slow_reader_does_not_stall_the_others_and_keeps_its_order():
    hub = Hub(layer=None)
    gate = asyncio.Event()
    slow, fast = FakeSocket("slow", gate), FakeSocket("fast")
    hub.subs["market"] = {slow: None, fast: None}
    for i in range(5):
        assert await hub.fan_out(_message(i)) == 2
    assert fast.got == [f"frame-{i}" for i in range(5)]  # delivered while `slow` is blocked
    assert slow.got == []
    gate.set()
    for _ in range(20):
        await asyncio.sleep(0)
    assert slow.got == [f"frame-{i}" for i in range(5)]
    await hub.fan_out(_message(5))  # back to inline sends
    assert slow.got[-1] == "frame-5" and getattr(slow, "_rt_backlog", None) is None


async def test_a_reader_that_never_reads_is_closed_when_its_backlog_is_full(monkeypatch):
    monkeypatch.setattr(hub_module, "MAX_BACKLOG", 3)
    hub = Hub(layer=None)
    stuck, fine = FakeSocket("stuck", asyncio.Event()), FakeSocket("fine")
    hub.subs["market"] = {stuck: None, fine: None}
    for i in range(6):
        await hub.fan_out(_message(i))
    await asyncio.sleep(0)
    assert stuck.closed_with == hub_module.CLOSE_SLOW_CONSUMER
    assert len(fine.got) == 6
