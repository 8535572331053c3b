"""Encryption at rest of stored secret values: Fernet under ``AUTOMATIONS["SECRETS_KEY"]`` (a key,
or a list of keys: the first encrypts, any decrypts, so keys can be rotated). Without that setting
the key is derived from ``SECRET_KEY``: a fallback for the demo only, since changing ``SECRET_KEY``
then makes the stored values unreadable."""
from __future__ import annotations

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings

from automations.conf import app_settings
from automations.errors import ActionError


def _fernet() -> MultiFernet:
    keys = app_settings.SECRETS_KEY
    if not keys:
        # Demo fallback only (documented): a key derived from SECRET_KEY.
        keys = [base64.urlsafe_b64encode(hashlib.sha256(f"automations.secrets:{settings.SECRET_KEY}".encode())
                                         .digest()).decode()]
    elif isinstance(keys, str):
        keys = [keys]
    return MultiFernet([Fernet(key) for key in keys])


def encrypt(value: str) -> str:
    """``value`` encrypted under the current key."""
    return _fernet().encrypt(value.encode()).decode()


def decrypt(token: str) -> str:
    """A stored value decrypted; an ActionError when no configured key opens it."""
    try:
        return _fernet().decrypt(token.encode()).decode()
    except InvalidToken as exc:
        raise ActionError("a stored secret cannot be decrypted with AUTOMATIONS['SECRETS_KEY'] "
                          "(was the key changed?)") from exc
