"""A role's panel: its last lines, the newest at the bottom, in a box of fixed height.

Textual's RichLog grows a scrollable area by a line for each line written, and a change of
that size asks for a layout pass of the whole screen: at the demo's pace that was a third
of the app's CPU (docs/performance.md). This panel keeps only the lines it can show, and
its height never changes, so a new line repaints the panel and nothing else.
"""

from collections import deque

from rich.console import RenderableType
from rich.text import Text
from textual.widget import Widget

KEPT = 50  # more than a panel ever shows


class RoleLog(Widget):
    """The last lines a role said; a line wider than the panel is cut, never wrapped (a panel's lines are its last lines)."""

    DEFAULT_CSS = "RoleLog { text-wrap: nowrap; text-overflow: clip; }"

    def __init__(self, *, classes: str = "", id: str | None = None) -> None:
        super().__init__(classes=classes, id=id)
        self._lines: deque[Text] = deque(maxlen=KEPT)

    def write(self, line: Text) -> None:
        self._lines.append(line)
        self.refresh()  # a repaint of this widget only: its size does not depend on its lines

    @property
    def texts(self) -> list[str]:
        """The lines kept, as plain text, oldest first."""
        return [line.plain for line in self._lines]

    def render(self) -> RenderableType:
        shown = list(self._lines)[-max(self.content_region.height, 1) :]
        return Text("\n").join(shown)
