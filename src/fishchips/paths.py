"""Where fishchips keeps things: a per-user cache (jars) and data dir (broker logs, books)."""

import os
from pathlib import Path

import platformdirs


def cache_dir() -> Path:
    """Downloads that can be fetched again: the broker's jars."""
    return Path(os.environ.get("FISHCHIPS_CACHE_DIR") or platformdirs.user_cache_dir("fishchips"))


def data_dir() -> Path:
    """State worth keeping: the embedded broker's log segments, the accountant's books."""
    return Path(os.environ.get("FISHCHIPS_DATA_DIR") or platformdirs.user_data_dir("fishchips"))
