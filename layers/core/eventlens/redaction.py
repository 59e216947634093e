"""Credentials out of any text that leaves the process: health answers, error bodies, log lines.

:func:`redact` masks, with ``***``:

* the password in a URI's user info: ``bolt://neo4j:s3cret@host`` → ``bolt://neo4j:***@host``;
* the value after a secret-sounding name: ``password=…``, ``"token": "…"``, ``api_key: …``,
  ``"writeKey": "…"``, ``X-Write-Key: …``, ``Authorization: Bearer …`` (or ``Basic …``);
* eventlens's own API keys (``el_write_…``, ``el_secret_…``), wherever they appear;
* AWS access key ids (``AKIA…``, ``ASIA…``);
* every secret the environment holds, wherever it shows up (a driver may echo one in any shape): the
  value of a variable named like a secret (``NEO4J_PASSWORD``, ``AWS_SECRET_ACCESS_KEY``,
  ``AWS_SESSION_TOKEN`` …) and the password inside a URI or DSN variable (``CLICKHOUSE_URL``,
  ``EVENTLENS_CRM_DSN``).

It imports only the standard library, so the logging and error paths load nothing more.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping

MASK = "***"

# A name that says its value is a secret: password, NEO4J_PASSWORD, x-api-key, aws_secret_access_key,
# writeKey (Segment's SDKs) …
_NAME = r"[\w.-]*(?:passw(?:or)?d|pwd|secret|token|(?:api|write|access|private)[_-]?key)[\w.-]*"
_NAMED_VALUE = re.compile(
    rf"(?P<name>{_NAME})(?P<sep>\\?[\"']?\s*[:=]\s*\\?[\"']?)(?P<value>[^\s\"'\\&,;)}}\]]+)",
    re.IGNORECASE,
)
_AUTHORIZATION = re.compile(
    r"(?P<name>authorization\\?[\"']?\s*[:=]\s*\\?[\"']?(?:(?:bearer|basic)\s+)?)(?P<value>[^\s\"'\\,;]+)",
    re.IGNORECASE,
)
# scheme://user:password@ — the password stops at @, /, whitespace, a quote or a backslash.
_URI_PASSWORD = re.compile(r"(?P<head>[a-z][a-z0-9+.-]*://[^\s:/@\"'\\]*:)(?P<value>[^\s@/\"'\\]+)@", re.I)
_AWS_KEY_ID = re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b")
_EVENTLENS_KEY = re.compile(r"el_(?:write|secret)_[A-Za-z0-9_-]{43}")  # eventlens.keys' shape
_SECRET_VARIABLE = re.compile(r"PASSW(?:OR)?D|SECRET|TOKEN|API_?KEY|ACCESS_KEY|PRIVATE_KEY", re.IGNORECASE)
_LOCATOR_VARIABLE = re.compile(r"URI|URL|DSN|BOOTSTRAP", re.IGNORECASE)
_PASSWORD_FIELD = re.compile(r"passw(?:or)?d\s*=\s*['\"]?(?P<value>[^\s'\"&;]+)", re.IGNORECASE)
MIN_SECRET_CHARS = 4  # shorter values (say "1" or "on") would mask ordinary words
# Values of secret-named settings that are switches, not secrets (TOKENIZERS_PARALLELISM=false).
_NOT_SECRETS = frozenset({"true", "false", "none", "null", "disabled", "enabled"})


def redact(text: str, secrets: Iterable[str] | None = None) -> str:
    """``text`` with every credential masked (see the module doc). ``secrets``: the values to mask
    wherever they appear (default: those the environment holds, :func:`environment_secrets`)."""
    known = environment_secrets() if secrets is None else secrets
    for secret in sorted({s for s in known if len(s) >= MIN_SECRET_CHARS}, key=len, reverse=True):
        text = text.replace(secret, MASK)
        escaped = secret.encode("unicode_escape").decode().replace('"', '\\"')
        if escaped != secret:  # as it appears inside a JSON string
            text = text.replace(escaped, MASK)
    text = _URI_PASSWORD.sub(lambda m: f"{m['head']}{MASK}@", text)
    text = _AUTHORIZATION.sub(lambda m: f"{m['name']}{MASK}", text)
    text = _NAMED_VALUE.sub(lambda m: f"{m['name']}{m['sep']}{MASK}", text)
    text = _EVENTLENS_KEY.sub(MASK, text)
    return _AWS_KEY_ID.sub(MASK, text)


def environment_secrets(environ: Mapping[str, str] | None = None) -> set[str]:
    """The secrets an environment holds: the values of variables named like secrets, and the
    passwords inside URIs and DSNs (``CLICKHOUSE_URL=http://user:pass@…``, ``password=…`` DSNs)."""
    found: set[str] = set()
    for name, value in (os.environ if environ is None else environ).items():
        if _SECRET_VARIABLE.search(name) and not _LOCATOR_VARIABLE.search(name):
            found.add(value)
        elif _LOCATOR_VARIABLE.search(name):
            found.update(match["value"] for match in _URI_PASSWORD.finditer(value))
            found.update(match["value"] for match in _PASSWORD_FIELD.finditer(value))
    return {
        secret
        for secret in found
        if len(secret) >= MIN_SECRET_CHARS and secret.lower() not in _NOT_SECRETS and not secret.isdigit()
    }
