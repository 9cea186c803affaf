"""The broker's jars: fetched once into the per-user cache, verified against the lock.

Maven resolves them where it is installed (it honours the user's mirrors and
proxies); otherwise each jar in the lock is fetched over HTTP from the Maven
repository named by FISHCHIPS_MAVEN_REPOSITORY. Either way every jar must match
its SHA-256 in kafka-jars.lock before the broker may use it.
"""

import hashlib
import os
import shutil
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from fishchips.errors import FishchipsError

KAFKA_VERSION = "4.4.0"
REPOSITORY_ENV = "FISHCHIPS_MAVEN_REPOSITORY"

# (done, total, what) -> None: called as work advances, so a caller can draw progress.
Progress = Callable[[int, int, str], None]


class JarError(FishchipsError):
    """The jars could not be fetched or failed their checksum."""


@dataclass(frozen=True)
class Jar:
    group: str
    artifact: str
    version: str
    sha256: str

    @property
    def filename(self) -> str:
        return f"{self.artifact}-{self.version}.jar"

    @property
    def repository_path(self) -> str:
        return f"{self.group.replace('.', '/')}/{self.artifact}/{self.version}/{self.filename}"


def locked_jars() -> list[Jar]:
    """The pinned jar list shipped with fishchips."""
    text = resources.files("fishchips.broker").joinpath("kafka-jars.lock").read_text()
    jars = []
    for line in text.splitlines():
        if line.strip() and not line.startswith("#"):
            coordinates, digest = line.split()
            group, artifact, version = coordinates.split(":")
            jars.append(Jar(group, artifact, version, digest))
    return jars


def libs_dir(cache: Path) -> Path:
    return cache / f"kafka-{KAFKA_VERSION}" / "libs"


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def missing_jars(cache: Path) -> list[Jar]:
    """Jars not yet in the cache (or not verified there)."""
    libs = libs_dir(cache)
    return [jar for jar in locked_jars() if not (libs / jar.filename).is_file()]


def ensure_jars(cache: Path, progress: Progress | None = None) -> Path:
    """Return the folder of verified jars, fetching whatever is missing first."""
    libs = libs_dir(cache)
    wanted = missing_jars(cache)
    if not wanted:
        return libs
    report = progress or (lambda done, total, what: None)
    staging = Path(tempfile.mkdtemp(prefix="jars-", dir=_writable(cache)))
    try:
        if shutil.which("mvn"):
            _fetch_with_maven(staging, wanted, report)
        else:
            _fetch_from_repository(staging, wanted, report)
        for jar in wanted:
            _verify(staging / jar.filename, jar)
        libs.mkdir(parents=True, exist_ok=True)
        for jar in wanted:
            os.replace(staging / jar.filename, libs / jar.filename)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return libs


def _writable(cache: Path) -> Path:
    try:
        cache.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise JarError(f"cannot create the jar cache {cache}: {exc.strerror}; set FISHCHIPS_CACHE_DIR to a writable folder") from exc
    return cache


def _verify(path: Path, jar: Jar) -> None:
    if not path.is_file():
        raise JarError(f"{jar.filename} was not fetched; check the Maven output above or your network")
    actual = sha256_of(path)
    if actual != jar.sha256:
        raise JarError(
            f"{jar.filename} failed its checksum (expected {jar.sha256[:12]}…, got {actual[:12]}…): "
            "the download is corrupt or was tampered with; if Maven fetched it, delete it from ~/.m2/repository, then retry"
        )


def _fetch_with_maven(target: Path, wanted: list[Jar], report: Progress) -> None:
    pom = resources.files("fishchips.broker").joinpath("pom.xml")
    with resources.as_file(pom) as pom_path:
        command = [
            "mvn",
            "-B",
            "-q",
            "-f",
            str(pom_path),
            "dependency:copy-dependencies",
            "-DincludeScope=runtime",
            f"-DoutputDirectory={target}",
        ]
        with tempfile.TemporaryFile("w+") as output:
            process = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT, text=True)
            while process.poll() is None:  # draw progress as jars land in the target folder
                report(sum(1 for _ in target.glob("*.jar")), len(wanted), "fetching with Maven")
                time.sleep(0.2)
            if process.returncode != 0:
                output.seek(0)
                last = output.read().strip().splitlines()[-3:]
                raise JarError("Maven could not fetch the Kafka jars: " + " | ".join(last) + "; check your network or Maven settings")
    report(len(wanted), len(wanted), "fetched with Maven")


def _fetch_from_repository(target: Path, wanted: list[Jar], report: Progress) -> None:
    base = os.environ.get(REPOSITORY_ENV, "").rstrip("/")
    if not base:
        raise JarError(
            f"Maven is not installed and {REPOSITORY_ENV} is not set: install Maven (apt-get install maven), "
            f"or set {REPOSITORY_ENV} to the address of Maven Central or a mirror of it"
        )
    for done, jar in enumerate(wanted):
        report(done, len(wanted), jar.filename)
        url = f"{base}/{jar.repository_path}"
        try:
            with urllib.request.urlopen(url, timeout=30) as response, (target / jar.filename).open("wb") as out:
                shutil.copyfileobj(response, out)
        except (urllib.error.URLError, OSError) as exc:
            raise JarError(f"cannot fetch {url}: {getattr(exc, 'reason', exc)}; check {REPOSITORY_ENV} and your network") from exc
    report(len(wanted), len(wanted), "fetched")
