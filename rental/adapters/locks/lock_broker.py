"""Where locks connect: the broker address and CA that provisioning hands them.

docs/lock-protocol.md §1-2: `mqtt.broker` is `mqtts://host:port` (or `mqtt://` where TLS
is not wanted), and `mqtt.ca` the PEM certificate of the CA that signs the broker's
certificate. Both come from settings (LOCK_BROKER_URL, LOCK_BROKER_CA_FILE), read once when
the platform starts so that a wrong path stops it there, not at the first provisioning.
"""

from dataclasses import dataclass
from urllib.parse import urlsplit

from rental.adapters.locks.mqtt import read_ca_file


@dataclass(frozen=True)
class LockBroker:
    url: str  # mqtts://host:port, as the lock writes it into its storage
    ca_pem: str | None  # None: the lock trusts the CAs built into its firmware

    @classmethod
    def from_settings(cls, url: str, ca_file: str) -> "LockBroker | None":
        """None when `url` is empty; ValueError naming the setting that is wrong."""
        if not url:
            if ca_file:
                raise ValueError("LOCK_BROKER_CA_FILE is set but LOCK_BROKER_URL is not")
            return None
        parts = urlsplit(url)
        if parts.scheme not in ("mqtt", "mqtts") or not parts.hostname:
            raise ValueError(f"LOCK_BROKER_URL must look like mqtts://host:port, not {url!r}")
        if parts.username or parts.password or parts.path not in ("", "/") or parts.query:
            raise ValueError(
                "LOCK_BROKER_URL is scheme://host:port only: each lock has its own account"
            )
        if ca_file and parts.scheme == "mqtt":
            raise ValueError("LOCK_BROKER_CA_FILE goes with an mqtts:// LOCK_BROKER_URL")
        return cls(url.rstrip("/"), read_ca_file(ca_file) if ca_file else None)
