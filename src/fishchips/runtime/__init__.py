"""Where roles run: a thread of this process, or a process of its own, behind one handle.

The same role code runs either way (see roles/); a process streams its events back to the
floor in batches, so every view sees one typed event stream.
"""

from fishchips.runtime.handles import ProcessHandle, RoleHandle, ThreadHandle
from fishchips.runtime.specs import RoleSpec

__all__ = ["ProcessHandle", "RoleHandle", "RoleSpec", "ThreadHandle"]
