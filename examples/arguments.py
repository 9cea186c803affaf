"""The flags every example takes: where the broker is, which topics, and when to stop.

Each example stops by itself (after N orders, or when nothing has come for a while),
so you can run it, read what it printed, and run the next one.
"""

import argparse


def count(text: str) -> int:
    """A number of orders: 1 or more (argparse names this function in its error: "invalid count value")."""
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def seconds(text: str) -> float:
    """A wait: more than zero seconds."""
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be more than 0 seconds, got {text}")
    return value


def parser(description: str | None, reading: bool = True) -> argparse.ArgumentParser:
    """-b/--bootstrap and --prefix reach any broker and any shop; a reader's -n and --idle say when it stops."""
    flags = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    flags.add_argument("-b", "--bootstrap", default="127.0.0.1:9092", help="the broker (default: `fishchips broker start`'s)")
    flags.add_argument("--prefix", default="fishchips", help="the shop's topics are PREFIX.orders, PREFIX.served, ...")
    if reading:
        flags.add_argument("-n", "--orders", type=count, help="stop after this many orders")
        flags.add_argument("--idle", type=seconds, default=10.0, help="stop when nothing has come for this many seconds (default 10)")
    return flags
