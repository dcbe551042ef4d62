"""The Redis backend's codec: msgpack (`nova_cli.terms`) against the pickle it replaced.

One broadcast's wire message per payload kind, encoded and decoded in the
same run by:

- pickle:  what the backend did before, `pickle.dumps` of
           `("b", node, channel, envelope)` and `pickle.loads`;
- msgpack: `terms.encode` / `terms.decode` of the same message, as version 1
           of the wire format lays it out;
- wire:    what the backend does now per message, `_wire.pack` and
           `_wire.parse` (the codec plus the checks of the fields).

Printed per payload: microseconds per encode+decode (best of the rounds) and
the ratios msgpack/pickle and wire/pickle.  Bounded: `--number` messages per
round, `--rounds` rounds.

    python bench/codec.py
    python bench/codec.py --number 20000 --rounds 7
"""

from __future__ import annotations

import argparse
import pickle
import sys
import timeit
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from nova_cli import terms  # noqa: E402
from nova_cli.pid import Pid  # noqa: E402
from nova_cli.pubsub import _wire  # noqa: E402

NODE = "3f9c0a1b2c4d@4242"
PAYLOADS: dict[str, Any] = {
    "chat line (str, 40 B)": "hello everyone, how is the build going?",
    "json-like dict": {"user": "alice", "text": "hi there", "at": 1718000000.25, "tags": ["a"]},
    "1 KiB str": "x" * 1024,
    "tuple of pids": (Pid(NODE, 17), Pid(NODE, 18), ("joined", 2)),
}


def measure(payload: Any, number: int, rounds: int) -> dict[str, float]:
    envelope = ("nova_pubsub", "chat", Pid(NODE, 17), "message", payload)
    old = ("b", NODE, "chat", envelope)
    new = [_wire.VERSION, NODE, _wire.BROADCAST, 123456, "chat", envelope]
    assert terms.decode(terms.encode(new)) == new
    assert _wire.parse(_wire.pack(_wire.BROADCAST, NODE, 123456, "chat", envelope))

    def pickled() -> None:
        pickle.loads(pickle.dumps(old, protocol=pickle.HIGHEST_PROTOCOL))

    def msgpacked() -> None:
        terms.decode(terms.encode(new))

    def wire() -> None:
        _wire.parse(_wire.pack(_wire.BROADCAST, NODE, 123456, "chat", envelope))

    best = {}
    for name, run in (("pickle", pickled), ("msgpack", msgpacked), ("wire", wire)):
        best[name] = min(timeit.repeat(run, number=number, repeat=rounds)) / number * 1e6
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--number", type=int, default=20_000, help="messages per round")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    print(f"python {sys.version.split()[0]}; best of {args.rounds} rounds of {args.number}")
    print(f"{'payload':<24} {'pickle':>8} {'msgpack':>8} {'wire':>8}   msgpack/pickle  wire/pickle")
    for label, payload in PAYLOADS.items():
        us = measure(payload, args.number, args.rounds)
        print(
            f"{label:<24} {us['pickle']:7.2f}µ {us['msgpack']:7.2f}µ {us['wire']:7.2f}µ"
            f"   {us['msgpack'] / us['pickle']:14.2f}  {us['wire'] / us['pickle']:11.2f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
