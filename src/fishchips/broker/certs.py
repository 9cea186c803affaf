"""A local certificate authority for the embedded broker's TLS, made with `cryptography`.

Managed Kafka services hand out a CA certificate and a client certificate and key;
fishchips makes the same three files (ca.pem, service.cert, service.key) so the shop
connects to the local broker exactly as it would to a managed one. Kafka reads PEM
files itself (ssl.keystore.type=PEM), so no keytool and no Java keystore are needed.
"""

import datetime
import ipaddress
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

CLIENT_NAME = "fishchips-client"  # the client certificate's CN: the broker knows it as User:CN=fishchips-client
BROKER_NAME = "fishchips-broker"  # the broker's CN: on a SASL broker it is also the client of its own controller and TLS ports
LOCAL_HOSTS = ("127.0.0.1", "localhost")  # the broker's certificate names both: librdkafka checks the host by default
DAY = datetime.timedelta(days=1)
CLIENT_FILES = ("ca.pem", "service.cert", "service.key")  # what kafka/settings.py looks for in --certs-dir

PrivateKey = ec.EllipticCurvePrivateKey


@dataclass(frozen=True)
class Issuer:
    """A certificate authority: its key signs, its certificate is what clients and the broker trust."""

    key: PrivateKey
    cert: x509.Certificate


@dataclass(frozen=True)
class TlsFiles:
    """Where a data dir keeps its CA, the broker's key and chain, and the folder handed to clients."""

    folder: Path
    client_dir: Path

    @property
    def ca_key(self) -> Path:
        return self.folder / "ca.key"

    @property
    def ca(self) -> Path:
        return self.folder / "ca.pem"

    @property
    def broker(self) -> Path:
        """The broker's key and certificate chain in one PEM file, as Kafka's PEM keystore wants it."""
        return self.folder / "broker.pem"


def _name(common_name: str) -> x509.Name:
    """Only a CN, so the broker's name for a client is simply User:CN=<name>."""
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _new_key() -> PrivateKey:
    return ec.generate_private_key(ec.SECP256R1())  # quick to make; Kafka (Java) and librdkafka (OpenSSL) both read it


def new_issuer(common_name: str = "fishchips local CA", days: int = 3650) -> Issuer:
    """A fresh self-signed certificate authority."""
    key = _new_key()
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(common_name))
        .issuer_name(_name(common_name))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - DAY)
        .not_valid_after(now + days * DAY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
        .sign(key, hashes.SHA256())
    )
    return Issuer(key, cert)


def issue(
    issuer: Issuer,
    common_name: str,
    hosts: tuple[str, ...] = (),
    days: int = 825,
    not_valid_after: datetime.datetime | None = None,
) -> tuple[PrivateKey, x509.Certificate]:
    """A key and a certificate signed by `issuer`: a broker's if it names hosts, else a client's.

    A broker's certificate is good for both ends of a connection: on a SASL broker the node talks
    to its own controller and inter-broker listeners over TLS, and shows the same certificate.

    `not_valid_after` in the past makes an expired certificate, for testing that it is refused.
    """
    key = _new_key()
    now = datetime.datetime.now(datetime.UTC)
    expires = not_valid_after or now + days * DAY
    usages = [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH] if hosts else [ExtendedKeyUsageOID.CLIENT_AUTH]
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(common_name))
        .issuer_name(issuer.cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(min(now, expires) - DAY)
        .not_valid_after(expires)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage(usages), critical=False)
    )
    if hosts:
        builder = builder.add_extension(x509.SubjectAlternativeName([_general_name(host) for host in hosts]), critical=False)
    return key, builder.sign(issuer.key, hashes.SHA256())


def _general_name(host: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(host))
    except ValueError:
        return x509.DNSName(host)


def cert_pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def key_pem(key: PrivateKey) -> bytes:
    """Unencrypted PKCS#8, the one form both Kafka's PEM keystore and librdkafka read without a password."""
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())


def _write_private(path: Path, content: bytes) -> None:
    """A file only this user may read: it holds a private key."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(content)
    path.chmod(0o600)


def write_client_files(folder: Path, ca: x509.Certificate, key: PrivateKey, cert: x509.Certificate) -> Path:
    """ca.pem, service.cert and service.key in `folder`, the layout managed services hand out."""
    folder.mkdir(parents=True, exist_ok=True)
    ca_name, cert_name, key_name = CLIENT_FILES
    (folder / ca_name).write_bytes(cert_pem(ca))
    (folder / cert_name).write_bytes(cert_pem(cert))
    _write_private(folder / key_name, key_pem(key))
    return folder


def load_issuer(files: TlsFiles) -> Issuer:
    key = serialization.load_pem_private_key(files.ca_key.read_bytes(), password=None)
    assert isinstance(key, PrivateKey)
    return Issuer(key, x509.load_pem_x509_certificate(files.ca.read_bytes()))


def ensure_tls(files: TlsFiles, hosts: tuple[str, ...] = LOCAL_HOSTS) -> TlsFiles:
    """Make the CA, the broker's certificate and the client's files once; later starts reuse them.

    Reusing them matters: a client folder handed out yesterday must still work after a restart.
    A broker certificate from before it had to be a client too, or that does not name every host
    it now listens on (a classroom's address), is reissued by the same CA.
    """
    if files.ca.is_file() and files.ca_key.is_file() and files.broker.is_file() and files.client_dir.is_dir():
        if not _broker_is_current(files.broker, hosts):
            _write_broker(files, load_issuer(files), hosts)
        return files
    issuer = new_issuer()
    _write_private(files.ca_key, key_pem(issuer.key))
    files.ca.write_bytes(cert_pem(issuer.cert))
    _write_broker(files, issuer, hosts)
    client_key, client_cert = issue(issuer, CLIENT_NAME)
    write_client_files(files.client_dir, issuer.cert, client_key, client_cert)
    return files


def _write_broker(files: TlsFiles, issuer: Issuer, hosts: tuple[str, ...]) -> None:
    broker_key, broker_cert = issue(issuer, BROKER_NAME, hosts=hosts)
    _write_private(files.broker, key_pem(broker_key) + cert_pem(broker_cert) + cert_pem(issuer.cert))


def _broker_is_current(path: Path, hosts: tuple[str, ...]) -> bool:
    """The broker's certificate has its current name, names every host, and may also act as a client."""
    cert = x509.load_pem_x509_certificate(path.read_bytes())  # the first certificate in the file is the broker's own
    try:
        usages = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    except x509.ExtensionNotFound:
        return False
    names = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    try:
        named = set(cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value)
    except x509.ExtensionNotFound:
        named = set()
    return (
        ExtendedKeyUsageOID.CLIENT_AUTH in usages
        and [name.value for name in names] == [BROKER_NAME]
        and {_general_name(host) for host in hosts} <= named
    )
