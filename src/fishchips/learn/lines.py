"""Where in a TOML file a key is: a bad lesson's error names the line, so a teacher can find it.

tomllib gives values, not positions, so the line is found again in the text. A lesson has a
simple shape (keys at the top, then `[[steps]]`, each with its keys and perhaps a `[steps.params]`),
so a key is the first line that sets it within the part of the file the path has narrowed to.
"""

import re

Path = tuple[str | int, ...]  # e.g. ("steps", 2, "params", "group"), as msgspec's error path says it


def line_of(text: str, path: Path) -> int:
    """The 1-based line of the key at `path`, or of the nearest enclosing part found (line 1 at worst)."""
    lines = text.splitlines()
    found, start, end = 1, 0, len(lines)
    first_table = next((i for i, line in enumerate(lines) if line.lstrip().startswith("[")), end)
    for part in path:
        if part == "steps":
            continue  # the number after it finds the step
        if isinstance(part, int):  # the nth [[steps]]: its lines run to the next one
            headers = [i for i in range(len(lines)) if re.match(r"\s*\[\[\s*steps\s*\]\]", lines[i])]
            if part >= len(headers):
                return found
            start, end = headers[part], headers[part + 1] if part + 1 < len(headers) else len(lines)
            found = start + 1
            continue
        top = start == 0 and end == len(lines)
        sets = re.compile(rf"\s*(\[\s*steps\.)?{re.escape(part)}\s*(=|\])")
        at = next((i for i in range(start, first_table if top else end) if sets.match(lines[i])), None)
        if at is None:
            return found
        found, start = at + 1, at
    return found
