"""Connection settings: flags beat the environment beat the config file; missing pieces are named."""

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fishchips.errors import FishchipsError
from fishchips.kafka.settings import CONFIG_ENV, ConnectionSettings, SettingsError, parse_extra, resolve

NO_FLAGS: dict[str, object] = {}


def write_config(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def make_certs(folder: Path, *names: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        (folder / name).write_text(f"-----BEGIN {name}-----\n")
    return folder


# --- precedence ---------------------------------------------------------------------------------


def test_flag_beats_environment_beats_file(tmp_path: Path) -> None:
    config = write_config(
        tmp_path / "fishchips.toml",
        'bootstrap_servers = "file:9092"\nusername = "file-user"\npassword = "file-secret"\nsasl_mechanism = "PLAIN"\n',
    )
    environ = {"KAFKA_BOOTSTRAP_SERVERS": "env:9092", "KAFKA_USERNAME": "env-user"}

    settings = resolve({"bootstrap_servers": "flag:9092"}, config_file=config, environ=environ)

    assert settings.bootstrap_servers == "flag:9092"  # flag over environment and file
    assert settings.username == "env-user"  # environment over file
    assert settings.password == "file-secret"  # file when nothing else says
    assert settings.sasl_mechanism == "PLAIN"


def test_each_source_alone_is_used(tmp_path: Path) -> None:
    config = write_config(tmp_path / "c.toml", 'bootstrap_servers = "file:1"\n')
    assert resolve(NO_FLAGS, config_file=config, environ={}).bootstrap_servers == "file:1"
    assert resolve(NO_FLAGS, environ={"KAFKA_BOOTSTRAP_SERVERS": "env:1"}).bootstrap_servers == "env:1"
    assert resolve({"bootstrap_servers": "flag:1"}, environ={}).bootstrap_servers == "flag:1"


def test_empty_or_missing_flags_fall_through_to_the_environment() -> None:
    environ = {"KAFKA_BOOTSTRAP_SERVERS": "env:9092", "KAFKA_SECURITY_PROTOCOL": "SSL"}
    settings = resolve({"bootstrap_servers": "", "security_protocol": None}, environ=environ)
    assert settings.bootstrap_servers == "env:9092"
    assert settings.security_protocol == "SSL"


def test_empty_environment_value_falls_through_to_the_file(tmp_path: Path) -> None:
    config = write_config(tmp_path / "c.toml", 'bootstrap_servers = "file:9092"\n')
    settings = resolve(NO_FLAGS, config_file=config, environ={"KAFKA_BOOTSTRAP_SERVERS": ""})
    assert settings.bootstrap_servers == "file:9092"


def test_config_file_named_by_the_environment(tmp_path: Path) -> None:
    named = write_config(tmp_path / "named.toml", 'bootstrap_servers = "named:9092"\n')
    explicit = write_config(tmp_path / "explicit.toml", 'bootstrap_servers = "explicit:9092"\n')

    assert resolve(NO_FLAGS, environ={CONFIG_ENV: str(named)}).bootstrap_servers == "named:9092"
    # --config beats FISHCHIPS_CONFIG
    assert resolve(NO_FLAGS, config_file=explicit, environ={CONFIG_ENV: str(named)}).bootstrap_servers == "explicit:9092"


def test_nothing_configured_means_the_embedded_broker() -> None:
    settings = resolve(NO_FLAGS, environ={})
    assert settings == ConnectionSettings()
    assert settings.embedded
    assert not ConnectionSettings(bootstrap_servers="h:1").embedded


def test_librdkafka_table_and_x_pairs_reach_the_client_config(tmp_path: Path) -> None:
    config = write_config(
        tmp_path / "c.toml",
        'bootstrap_servers = "h:9092"\n[librdkafka]\n"linger.ms" = 50\n"client.id" = "from-file"\n',
    )
    settings = resolve(NO_FLAGS, extra={"client.id": "from-flag"}, config_file=config, environ={})

    assert settings.extra == {"linger.ms": "50", "client.id": "from-flag"}  # -X beats the file; values become strings
    config_out = settings.client_config()
    assert config_out["linger.ms"] == "50"
    assert config_out["client.id"] == "from-flag"


def test_x_pairs_win_over_the_derived_settings() -> None:
    settings = ConnectionSettings(bootstrap_servers="h:9092", extra={"security.protocol": "SSL"})
    assert settings.client_config()["security.protocol"] == "SSL"


def test_certs_dir_is_expanded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    settings = resolve({"certs_dir": "~/certs"}, environ={})
    assert settings.certs_dir == tmp_path / "certs"


# --- -X parsing ---------------------------------------------------------------------------------


def test_parse_extra_pairs() -> None:
    assert parse_extra(["linger.ms=5", " client.id = shop ", "sasl.oauthbearer.config=a=b", "empty="]) == {
        "linger.ms": "5",
        "client.id": "shop",
        "sasl.oauthbearer.config": "a=b",  # only the first = splits
        "empty": "",
    }
    assert parse_extra([]) == {}


@pytest.mark.parametrize("pair", ["linger.ms", "=5", "  =5", ""])
def test_parse_extra_rejects_what_is_not_key_value(pair: str) -> None:
    with pytest.raises(SettingsError) as info:
        parse_extra(["acks=all", pair])
    assert repr(pair) in str(info.value)
    assert "key=value" in str(info.value)
    assert isinstance(info.value, FishchipsError)  # so the CLI shows it as one line


@given(
    key=st.from_regex(r"[a-z][a-z0-9.]{0,30}", fullmatch=True),
    value=st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc", "Zs", "Zl", "Zp")), max_size=30),
)
def test_parse_extra_round_trips(key: str, value: str) -> None:
    assert parse_extra([f"{key}={value}"]) == {key: value}


# --- certificates -------------------------------------------------------------------------------


def test_certs_dir_builds_the_ssl_settings(tmp_path: Path) -> None:
    certs = make_certs(tmp_path / "certs", "ca.pem", "service.cert", "service.key")
    config = ConnectionSettings(bootstrap_servers="kafka.example:12345", certs_dir=certs).client_config()
    assert config == {
        "bootstrap.servers": "kafka.example:12345",
        "security.protocol": "SSL",  # inferred from the certificates folder
        "ssl.ca.location": str(certs / "ca.pem"),
        "ssl.certificate.location": str(certs / "service.cert"),
        "ssl.key.location": str(certs / "service.key"),
    }


@pytest.mark.parametrize("missing", ["ca.pem", "service.cert", "service.key"])
def test_a_missing_certificate_file_is_named(tmp_path: Path, missing: str) -> None:
    present = [name for name in ("ca.pem", "service.cert", "service.key") if name != missing]
    certs = make_certs(tmp_path / "certs", *present)
    with pytest.raises(SettingsError) as info:
        ConnectionSettings(bootstrap_servers="h:1", certs_dir=certs).client_config()
    assert str(certs / missing) in str(info.value)
    assert "is missing" in str(info.value)


def test_a_missing_certs_dir_is_named(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="does not exist") as info:
        ConnectionSettings(bootstrap_servers="h:1", certs_dir=tmp_path / "nowhere").client_config()
    assert str(tmp_path / "nowhere") in str(info.value)


def test_sasl_ssl_needs_only_the_ca(tmp_path: Path) -> None:
    certs = make_certs(tmp_path / "certs", "ca.pem")
    config = ConnectionSettings(bootstrap_servers="h:1", certs_dir=certs, username="u", password="p").client_config()
    assert config["security.protocol"] == "SASL_SSL"
    assert config["ssl.ca.location"] == str(certs / "ca.pem")
    assert "ssl.key.location" not in config
    assert "ssl.certificate.location" not in config


# --- SASL ---------------------------------------------------------------------------------------


def test_username_means_sasl_ssl_with_scram_512() -> None:
    settings = ConnectionSettings(bootstrap_servers="h:1", username="fryer", password="hot")
    assert settings.protocol == "SASL_SSL"
    assert settings.client_config() == {
        "bootstrap.servers": "h:1",
        "security.protocol": "SASL_SSL",
        "sasl.mechanism": "SCRAM-SHA-512",
        "sasl.username": "fryer",
        "sasl.password": "hot",
    }


def test_a_mechanism_alone_also_means_sasl_ssl() -> None:
    assert ConnectionSettings(bootstrap_servers="h:1", sasl_mechanism="PLAIN").protocol == "SASL_SSL"


@pytest.mark.parametrize(("username", "password"), [("fryer", None), (None, "hot"), ("fryer", ""), (None, None)])
def test_sasl_needs_username_and_password(username: str | None, password: str | None) -> None:
    settings = ConnectionSettings(bootstrap_servers="h:1", security_protocol="SASL_PLAINTEXT", username=username, password=password)
    with pytest.raises(SettingsError, match="SASL needs a username and a password"):
        settings.client_config()


def test_sasl_from_the_environment_in_lower_case() -> None:
    environ = {
        "KAFKA_BOOTSTRAP_SERVERS": "h:1",
        "KAFKA_SECURITY_PROTOCOL": "sasl_plaintext",
        "KAFKA_SASL_MECHANISM": "scram-sha-256",
        "KAFKA_USERNAME": "u",
        "KAFKA_PASSWORD": "p",
    }
    config = resolve(NO_FLAGS, environ=environ).client_config()
    assert config["security.protocol"] == "SASL_PLAINTEXT"
    assert config["sasl.mechanism"] == "SCRAM-SHA-256"


def test_unknown_mechanism_and_protocol_are_rejected() -> None:
    with pytest.raises(SettingsError, match="unknown SASL mechanism 'GSSAPI'"):
        ConnectionSettings(bootstrap_servers="h:1", sasl_mechanism="GSSAPI", username="u", password="p").client_config()
    with pytest.raises(SettingsError, match="unknown security protocol 'TLS'"):
        ConnectionSettings(bootstrap_servers="h:1", security_protocol="TLS").client_config()


def test_the_password_is_not_in_the_repr() -> None:
    assert "s3cret" not in repr(ConnectionSettings(bootstrap_servers="h:1", username="u", password="s3cret"))


# --- the config file ----------------------------------------------------------------------------


def test_unknown_keys_in_the_config_file_are_rejected(tmp_path: Path) -> None:
    config = write_config(tmp_path / "c.toml", 'bootstrap_servers = "h:1"\nbootstrap_server = "typo:1"\nsasl_password = "x"\n')
    with pytest.raises(SettingsError) as info:
        resolve(NO_FLAGS, config_file=config, environ={})
    message = str(info.value)
    assert "unknown keys ['bootstrap_server', 'sasl_password']" in message
    assert str(config) in message


def test_invalid_toml_is_a_settings_error(tmp_path: Path) -> None:
    config = write_config(tmp_path / "c.toml", "bootstrap_servers = \n")
    with pytest.raises(SettingsError, match="is not valid TOML"):
        resolve(NO_FLAGS, config_file=config, environ={})


def test_a_missing_config_file_is_a_settings_error(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="cannot read the config file") as info:
        resolve(NO_FLAGS, environ={CONFIG_ENV: str(tmp_path / "absent.toml")})
    assert "absent.toml" in str(info.value)


@pytest.mark.parametrize("value", ['"linger.ms=5"', "5"])
def test_librdkafka_that_is_not_a_table_is_a_settings_error(tmp_path: Path, value: str) -> None:
    config = write_config(tmp_path / "c.toml", f"librdkafka = {value}\n")
    with pytest.raises(SettingsError):
        resolve(NO_FLAGS, config_file=config, environ={})


# --- no bootstrap -------------------------------------------------------------------------------


def test_client_config_without_bootstrap_raises() -> None:
    with pytest.raises(SettingsError, match="no bootstrap servers") as info:
        ConnectionSettings(username="u", password="p").client_config()
    assert "KAFKA_BOOTSTRAP_SERVERS" in str(info.value)


def test_with_bootstrap_keeps_the_rest() -> None:
    settings = ConnectionSettings(username="u", password="p", extra={"acks": "1"}).with_bootstrap("127.0.0.1:9092")
    assert settings.bootstrap_servers == "127.0.0.1:9092"
    assert (settings.username, settings.password, dict(settings.extra)) == ("u", "p", {"acks": "1"})
