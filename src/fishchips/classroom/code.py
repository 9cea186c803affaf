"""The join code: everything a student's laptop needs to find and trust the teacher's shop, in one copyable token.

It is base64url of a small JSON object (short keys keep it short): the teacher's address and two
ports, the student's user, a one-time secret, and the SHA-256 fingerprint of the room's CA. The
fingerprint is what makes fetching the CA over the network safe: a CA that does not match it is refused.
"""

import base64
import binascii
import hashlib

import msgspec
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from fishchips.errors import FishchipsError


class JoinError(FishchipsError):
    """A join code that cannot be used: malformed, used up, or pointing at a teacher who does not answer."""


class JoinCode(msgspec.Struct, frozen=True, forbid_unknown_fields=True, rename={
    "host": "h", "kafka_port": "k", "page_port": "p", "user": "u", "secret": "s", "fingerprint": "f", "prefix": "x"
}):  # fmt: skip
    host: str  # the teacher's address, as the students reach it
    kafka_port: int  # the room's SASL_SSL listener
    page_port: int  # the room's page: the CA certificate, and the exchange of the secret for a password
    user: str
    secret: str
    fingerprint: str  # of the CA, see ca_fingerprint
    prefix: str  # the shop's prefix: its topics and groups

    def encode(self) -> str:
        return base64.urlsafe_b64encode(msgspec.json.encode(self)).decode().rstrip("=")

    @classmethod
    def decode(cls, text: str) -> "JoinCode":
        """The code, or one line saying it is not one (mistyped, cut short when copied)."""
        token = text.strip()
        try:
            return msgspec.json.decode(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)), type=cls)
        except (binascii.Error, ValueError, msgspec.DecodeError):
            raise JoinError("this is not a join code: copy the whole line your teacher gave you, `fishchips join` and the code") from None


def ca_fingerprint(ca_pem: bytes) -> str:
    """The SHA-256 of the CA certificate (its DER form), base64url: what the join code carries to check the CA against."""
    try:
        der = x509.load_pem_x509_certificate(ca_pem).public_bytes(Encoding.DER)
    except ValueError:
        raise JoinError("the teacher's page did not send a certificate: check the address in the join code") from None
    return base64.urlsafe_b64encode(hashlib.sha256(der).digest()).decode().rstrip("=")
