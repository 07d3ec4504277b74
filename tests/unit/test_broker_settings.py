"""Broker addresses and what locks are given: parsed from settings, refused when wrong."""

import ssl
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from rental.adapters.locks.lock_broker import LockBroker
from rental.adapters.locks.mqtt import BrokerAddress, read_ca_file


def self_signed_ca() -> str:
    """A throwaway CA certificate, PEM."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Test broker CA")])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    return certificate.public_bytes(serialization.Encoding.PEM).decode()


CERTIFICATE = self_signed_ca()


@pytest.fixture
def ca_file(tmp_path: Path) -> str:
    path = tmp_path / "ca.crt"
    path.write_text(CERTIFICATE)
    return str(path)


def test_an_mqtts_address_uses_tls_and_port_8883_unless_it_names_one():
    address = BrokerAddress.from_url("mqtts://api:secret@broker.example.org", ca_pem="PEM")
    assert (address.host, address.port, address.tls) == ("broker.example.org", 8883, True)
    assert (address.username, address.password, address.ca_pem) == ("api", "secret", "PEM")
    assert BrokerAddress.from_url("mqtts://h:18883").port == 18883
    plain = BrokerAddress.from_url("mqtt://h", ca_pem="PEM")
    assert (plain.port, plain.tls, plain.ca_pem) == (1883, False, None)


def test_an_address_keeps_tls_and_its_ca_when_given_other_credentials():
    address = BrokerAddress.from_url("mqtts://h:1", ca_pem="PEM").with_credentials("L1", "pw")
    assert (address.username, address.password, address.tls, address.ca_pem) == (
        "L1",
        "pw",
        True,
        "PEM",
    )
    assert "pw" not in repr(address)


@pytest.mark.parametrize("url", ["http://h:1", "mqtts://", "h:1883", "ws://h:1"])
def test_an_address_that_is_no_broker_url_is_refused(url):
    with pytest.raises(ValueError, match=r"mqtt\(s\)://"):
        BrokerAddress.from_url(url)


def test_tls_checks_the_certificate_and_the_host_name():
    context = BrokerAddress.from_url("mqtts://h", ca_pem=CERTIFICATE).tls_context()
    assert context.verify_mode == ssl.CERT_REQUIRED
    assert context.check_hostname is True
    assert len(context.get_ca_certs()) == 1


def test_a_ca_file_that_cannot_be_read_or_holds_no_certificate_is_named(tmp_path):
    with pytest.raises(ValueError, match=r"cannot read the CA file .*missing\.crt"):
        read_ca_file(str(tmp_path / "missing.crt"))
    junk = tmp_path / "junk.crt"
    junk.write_text("not a certificate")
    with pytest.raises(ValueError, match=r"junk\.crt.* holds no PEM certificate"):
        read_ca_file(str(junk))


def test_locks_are_given_the_public_address_and_the_ca_text(ca_file):
    broker = LockBroker.from_settings("mqtts://locks.example.org:8883", ca_file)
    assert broker == LockBroker("mqtts://locks.example.org:8883", CERTIFICATE)
    assert LockBroker.from_settings("", "") is None


@pytest.mark.parametrize(
    ("url", "with_ca", "complaint"),
    [
        ("https://locks.example.org", False, "mqtts://host:port"),
        ("mqtts://platform:pw@locks.example.org", False, "scheme://host:port only"),
        ("mqtts://locks.example.org/topic", False, "scheme://host:port only"),
        ("mqtt://locks.example.org", True, "goes with an mqtts://"),
        ("", True, "LOCK_BROKER_URL is not"),
    ],
)
def test_what_locks_would_be_given_wrongly_is_refused_at_start(url, with_ca, complaint, ca_file):
    with pytest.raises(ValueError, match=complaint):
        LockBroker.from_settings(url, ca_file if with_ca else "")
