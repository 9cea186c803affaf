"""Save a screenshot of the live shop (SVG, by the app itself) for the README.

Usage: python scripts/screenshot.py [SCENARIO] [OUT.svg]   (needs the embedded broker or KAFKA_BOOTSTRAP_SERVERS)
"""

import asyncio
import sys
import time

from fishchips.kafka.settings import resolve
from fishchips.kafka.topics import Topics
from fishchips.scenarios import SCENARIOS
from fishchips.tui.app import ShopApp


async def main(name: str, out: str) -> None:
    app = ShopApp(SCENARIOS[name], resolve({}), Topics("screenshot"), speed=2.0, log_path="~/.local/share/fishchips/fishchips.log")
    async with app.run_test(size=(100, 30)) as pilot:
        deadline = time.monotonic() + 60
        while (app.kafka_view is None or len(app.panels) < 4) and time.monotonic() < deadline:
            await pilot.pause(0.2)
        await pilot.pause(8)  # let orders flow for a while so every panel has something to show
        app.save_screenshot(out)
        await app.close_shop()
    print(f"saved {out}")


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1] if len(sys.argv) > 1 else "demo3", sys.argv[2] if len(sys.argv) > 2 else "docs/demo3.svg"))
