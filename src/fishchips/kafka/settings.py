"""Connection settings, one place for every command: flags, then environment, then a config file.

Nothing configured means the embedded broker. Otherwise any cluster: plaintext,
SSL with a certificates folder as managed services hand out (ca.pem,
service.cert, service.key), or SASL (PLAIN, SCRAM) over SSL or plaintext;
and any librdkafka setting can be passed through (-X key=value).
"""

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from fishchips.errors import FishchipsError

CERT_FILES = {"ssl.ca.location": "ca.pem", "ssl.certificate.location": "service.cert", "ssl.key.location": "service.key"}
SASL_MECHANISMS = ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512")
PROTOCOLS = ("PLAINTEXT", "SSL", "SASL_SSL", "SASL_PLAINTEXT")

# setting name -> environment variable; the config file uses the setting names as keys
ENVIRONMENT = {
    "bootstrap_servers": "KAFKA_BOOTSTRAP_SERVERS",
    "security_protocol": "KAFKA_SECURITY_PROTOCOL",
    "certs_dir": "KAFKA_CERTS_DIR",
    "sasl_mechanism": "KAFKA_SASL_MECHANISM",
    "username": "KAFKA_USERNAME",
    "password": "KAFKA_PASSWORD",
}
CONFIG_ENV = "FISHCHIPS_CONFIG"


class SettingsError(FishchipsError):
    """The connection settings are incomplete or point at files that are not there."""


@dataclass(frozen=True)
class ConnectionSettings:
    bootstrap_servers: str | None = None
    security_protocol: str | None = None
    certs_dir: Path | None = None
    sasl_mechanism: str | None = None
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    extra: Mapping[str, str] = field(default_factory=dict)

    @property
    def embedded(self) -> bool:
        """No cluster named: fishchips runs (and, if need be, starts) its own broker."""
        return not self.bootstrap_servers

    @property
    def protocol(self) -> str:
        if self.security_protocol:
            return self.security_protocol
        if self.sasl_mechanism or self.username:
            return "SASL_SSL"
        return "SSL" if self.certs_dir else "PLAINTEXT"

    def with_bootstrap(self, bootstrap_servers: str) -> "ConnectionSettings":
        return replace(self, bootstrap_servers=bootstrap_servers)

    def client_config(self) -> dict[str, str]:
        """The librdkafka settings these connection settings mean, checked for missing pieces."""
        if not self.bootstrap_servers:
            raise SettingsError("no bootstrap servers: pass --bootstrap-servers or set KAFKA_BOOTSTRAP_SERVERS")
        protocol = self.protocol.upper()
        if protocol not in PROTOCOLS:
            raise SettingsError(f"unknown security protocol {self.protocol!r}: use one of {', '.join(PROTOCOLS)}")
        config = {"bootstrap.servers": self.bootstrap_servers, "security.protocol": protocol}
        if self.certs_dir is not None:
            config.update(self._certificate_files(protocol))
        if protocol.startswith("SASL"):
            config.update(self._sasl())
        config.update(self.extra)
        return config

    def _certificate_files(self, protocol: str) -> dict[str, str]:
        assert self.certs_dir is not None
        if not self.certs_dir.is_dir():
            raise SettingsError(f"the certificates folder {self.certs_dir} does not exist: check --certs-dir")
        wanted = CERT_FILES if protocol == "SSL" else {"ssl.ca.location": "ca.pem"}  # SASL needs only the CA
        files = {}
        for key, name in wanted.items():
            path = self.certs_dir / name
            if not path.is_file():
                raise SettingsError(
                    f"{path} is missing: the certificates folder must hold {', '.join(wanted.values())}, as your Kafka service hands them out"
                )
            files[key] = str(path)
        return files

    def _sasl(self) -> dict[str, str]:
        mechanism = (self.sasl_mechanism or "SCRAM-SHA-512").upper()
        if mechanism not in SASL_MECHANISMS:
            raise SettingsError(f"unknown SASL mechanism {mechanism!r}: use one of {', '.join(SASL_MECHANISMS)}")
        if not self.username or not self.password:
            raise SettingsError("SASL needs a username and a password: pass --username/--password or set KAFKA_USERNAME/KAFKA_PASSWORD")
        return {"sasl.mechanism": mechanism, "sasl.username": self.username, "sasl.password": self.password}


def parse_extra(pairs: list[str]) -> dict[str, str]:
    """-X key=value pairs, as librdkafka settings."""
    extra = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise SettingsError(f"-X {pair!r} is not key=value, e.g. -X linger.ms=5")
        extra[key.strip()] = value.strip()
    return extra


def _read_config_file(path: Path) -> dict[str, object]:
    try:
        with path.open("rb") as f:
            data = tomllib.load(f)
    except OSError as exc:
        raise SettingsError(f"cannot read the config file {path}: {exc.strerror}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"the config file {path} is not valid TOML: {exc}") from exc
    if not isinstance(data.get("librdkafka", {}), dict):
        raise SettingsError(f"the config file {path}: librdkafka must be a table of settings, e.g. [librdkafka] linger.ms = 5")
    unknown = set(data) - set(ENVIRONMENT) - {"librdkafka"}
    if unknown:
        raise SettingsError(f"the config file {path} has unknown keys {sorted(unknown)}; known: {sorted(ENVIRONMENT)} and [librdkafka]")
    return data


def resolve(
    flags: Mapping[str, object],
    extra: Mapping[str, str] | None = None,
    config_file: Path | None = None,
    environ: Mapping[str, str] = os.environ,
) -> ConnectionSettings:
    """Merge the three sources; for each setting a flag beats the environment beats the file."""
    path = config_file or (Path(environ[CONFIG_ENV]) if environ.get(CONFIG_ENV) else None)
    file_values = _read_config_file(path) if path else {}
    values: dict[str, str] = {}
    for name, variable in ENVIRONMENT.items():
        for source in (flags.get(name), environ.get(variable), file_values.get(name)):
            if source not in (None, ""):
                values[name] = str(source)
                break
    table = file_values.get("librdkafka", {})
    assert isinstance(table, dict)  # _read_config_file refuses anything else
    librdkafka = {str(k): str(v) for k, v in table.items()}
    librdkafka.update(extra or {})
    certs_dir = values.get("certs_dir")
    return ConnectionSettings(
        bootstrap_servers=values.get("bootstrap_servers"),
        security_protocol=values.get("security_protocol"),
        certs_dir=Path(certs_dir).expanduser() if certs_dir else None,
        sasl_mechanism=values.get("sasl_mechanism"),
        username=values.get("username"),
        password=values.get("password"),
        extra=librdkafka,
    )
