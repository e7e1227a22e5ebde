"""Secrets at rest (instance tokens) encrypted with Fernet, and per-instance webhook secrets.

The key comes from ENCRYPTION_KEY or is generated once into DATA_DIR; every replica must use the
same key (set ENCRYPTION_KEY, or share DATA_DIR).
"""

from __future__ import annotations

import hashlib
import hmac

from cryptography.fernet import Fernet, InvalidToken

from services.platform.settings import SettingsError

PREFIX = "fernet:"


class Vault:
    def __init__(self, key: str, webhook_secret: str) -> None:
        try:
            self._fernet = Fernet(key.encode())
        except ValueError:
            raise SettingsError(
                "ENCRYPTION_KEY must be a Fernet key (32 url-safe base64-encoded bytes); "
                'make one with: python -c "from cryptography.fernet import Fernet; '
                'print(Fernet.generate_key().decode())"'
            ) from None
        self._webhook_secret = webhook_secret.encode()

    def encrypt(self, plaintext: str) -> str:
        return PREFIX + self._fernet.encrypt(plaintext.encode()).decode()

    def decrypt(self, stored: str) -> str:
        """Decrypt a stored value; values written before encryption existed pass through."""
        if not stored.startswith(PREFIX):
            return stored
        try:
            return self._fernet.decrypt(stored[len(PREFIX) :].encode()).decode()
        except InvalidToken:
            raise RuntimeError(
                "a stored secret cannot be decrypted: is ENCRYPTION_KEY the key "
                "it was written with?"
            ) from None

    def webhook_secret(self, instance_name: str) -> str:
        """The secret Evolution sends back in a header on every webhook of this instance.

        Derived rather than stored, so rotating WEBHOOK_SECRET rotates every instance's secret.
        """
        digest = hmac.new(self._webhook_secret, f"webhook:{instance_name}".encode(), hashlib.sha256)
        return digest.hexdigest()

    def media_url_key(self) -> bytes:
        """The key that signs media URLs (services/media/links.py): derived from the same
        secret with its own label, so a media signature never works as a webhook secret."""
        return hmac.new(self._webhook_secret, b"media-url:v1", hashlib.sha256).digest()

    @staticmethod
    def same(a: str | None, b: str | None) -> bool:
        """Constant-time comparison, so response timing reveals nothing about the secret."""
        if a is None or b is None:
            return False
        return hmac.compare_digest(a.encode(), b.encode())


def new_key() -> str:
    return Fernet.generate_key().decode()
