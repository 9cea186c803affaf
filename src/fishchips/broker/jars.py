"""Pinned jars (the broker's, the Connect plugin's): fetched once into the per-user cache, verified against a lock.

Maven resolves them where it is installed (it honours the user's mirrors and
proxies); otherwise each jar in the lock is fetched over HTTP from the Maven
repository named by FISHCHIPS_MAVEN_REPOSITORY. Either way every jar must match
its SHA-256 in the set's lock file before anything may use it.
"""

import hashlib
import os
import shutil
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
import zipfile
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


@dataclass(frozen=True)
class JarSet:
    """One pinned set of jars: a pom Maven resolves, the lock of their checksums, and their folder in the cache."""

    title: str  # as progress and errors name it
    pom: str  # resource names in fishchips.broker
    lock: str
    folder: str  # under the cache
    # Maven tries every repository a pom names; True: all of them are mirrored to the central one
    central_only: bool = False


KAFKA = JarSet(f"Kafka {KAFKA_VERSION}", "pom.xml", "kafka-jars.lock", f"kafka-{KAFKA_VERSION}/libs")
JDBC_SINK = JarSet(
    "Debezium JDBC sink 3.6.0.Final", "jdbc-sink-pom.xml", "jdbc-sink-jars.lock", "connect-plugins/debezium-jdbc-sink", central_only=True
)


def locked_jars(jar_set: JarSet = KAFKA) -> list[Jar]:
    """The pinned jar list shipped with fishchips."""
    text = resources.files("fishchips.broker").joinpath(jar_set.lock).read_text()
    jars = []
    for line in text.splitlines():
        if line.strip() and not line.startswith("#"):
            coordinates, digest = line.split()
            group, artifact, version = coordinates.split(":")
            jars.append(Jar(group, artifact, version, digest))
    return jars


def libs_dir(cache: Path, jar_set: JarSet = KAFKA) -> Path:
    return cache / jar_set.folder


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def missing_jars(cache: Path, jar_set: JarSet = KAFKA) -> list[Jar]:
    """Jars not yet in the cache (or not verified there)."""
    libs = libs_dir(cache, jar_set)
    return [jar for jar in locked_jars(jar_set) if not (libs / jar.filename).is_file()]


def ensure_jars(cache: Path, progress: Progress | None = None, jar_set: JarSet = KAFKA) -> Path:
    """Return the folder of verified jars, fetching whatever is missing first."""
    libs = libs_dir(cache, jar_set)
    wanted = missing_jars(cache, jar_set)
    if not wanted:
        return libs
    report = progress or (lambda done, total, what: None)
    staging = Path(tempfile.mkdtemp(prefix="jars-", dir=_writable(cache)))
    try:
        if shutil.which("mvn"):
            _fetch_with_maven(staging, wanted, report, jar_set)
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


def maven_command(jar_set: JarSet, pom: Path, settings: Path, *goal: str) -> list[str]:
    """mvn on the set's pom; a set that must see only the central repository gets a settings file saying so."""
    command = ["mvn", "-B", "-q", "-f", str(pom)]
    if jar_set.central_only:
        settings.write_text(CENTRAL_ONLY_SETTINGS.format(url=central_repository()))
        command += ["-s", str(settings)]
    return [*command, *goal]


# every repository any pom names is mirrored to the central one: no other is ever asked
CENTRAL_ONLY_SETTINGS = """<settings><mirrors><mirror>
  <id>fishchips-central-only</id><mirrorOf>*</mirrorOf><url>{url}</url>
</mirror></mirrors></settings>
"""


def central_repository() -> str:
    """FISHCHIPS_MAVEN_REPOSITORY (a mirror of the central repository), else the central repository as Maven itself defines it."""
    if configured := os.environ.get(REPOSITORY_ENV, "").rstrip("/"):
        return configured
    mvn = shutil.which("mvn")
    builders = sorted((Path(mvn).resolve().parent.parent / "lib").glob("maven-model-builder*.jar")) if mvn else []
    for jar in builders:  # Maven's super POM, which every pom inherits, names the central repository
        with zipfile.ZipFile(jar) as archive:
            text = archive.read("org/apache/maven/model/pom-4.0.0.xml").decode()
        if "<id>central</id>" in text:
            return text.split("<id>central</id>", 1)[1].split("<url>", 1)[1].split("</url>", 1)[0].strip()
    raise JarError(f"cannot find the central repository in Maven's own files: set {REPOSITORY_ENV} to its address or a mirror's")


def _fetch_with_maven(target: Path, wanted: list[Jar], report: Progress, jar_set: JarSet) -> None:
    pom = resources.files("fishchips.broker").joinpath(jar_set.pom)
    with resources.as_file(pom) as pom_path:
        goal = ("dependency:copy-dependencies", "-DincludeScope=runtime", f"-DoutputDirectory={target}")
        command = maven_command(jar_set, pom_path, target / "settings.xml", *goal)
        with tempfile.TemporaryFile("w+") as output:
            process = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT, text=True)
            while process.poll() is None:  # draw progress as jars land in the target folder
                report(sum(1 for _ in target.glob("*.jar")), len(wanted), f"fetching {jar_set.title} with Maven")
                time.sleep(0.2)
            if process.returncode != 0:
                output.seek(0)
                last = output.read().strip().splitlines()[-3:]
                raise JarError(f"Maven could not fetch the {jar_set.title} jars: " + " | ".join(last) + "; check your network or Maven settings")
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
