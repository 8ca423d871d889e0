"""Keeping secrets out of everything pylitestream prints or logs."""

from __future__ import annotations

import re

MASK = "****"

_SECRET_NAME = re.compile(r"SECRET|PASSWORD|TOKEN|ACCESS_KEY|CREDENTIAL|PRIVATE|_KEY$", re.I)
# Key IDs identify but do not authorise; showing their last characters helps tell accounts apart.
_KEY_ID_NAME = re.compile(r"KEY_ID$", re.I)
_URL_USERINFO = re.compile(r"(?P<scheme>[a-z][a-z0-9+.-]*://)(?P<user>[^:/@\s]*):(?P<pw>[^@/\s]+)@")


def is_secret_name(name: str) -> bool:
    return bool(_SECRET_NAME.search(name)) and not _KEY_ID_NAME.search(name)


def mask_env_value(name: str, value: str) -> str:
    if not value:
        return value
    if _KEY_ID_NAME.search(name):
        return MASK + value[-4:] if len(value) > 8 else MASK
    if is_secret_name(name):
        return MASK
    return mask_urls(value)


def mask_urls(text: str) -> str:
    """Hide passwords written into URLs (sftp://user:pw@host, ?...&secret=...)."""
    return _URL_USERINFO.sub(lambda m: f"{m['scheme']}{m['user']}:{MASK}@", text)


def redact(text: str, secrets: list[str]) -> str:
    """Replace each known secret value in free text (error lines, logs)."""
    for secret in sorted((s for s in secrets if len(s) >= 4), key=len, reverse=True):
        text = text.replace(secret, MASK)
    return mask_urls(text)
