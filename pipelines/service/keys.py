"""Callers and their keys: a TOML file of `[[caller]]` entries holding only each key's SHA-256.

A key is shown once when issued; the file never holds it, so a leaked keys file gives no access.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
import tomllib
from dataclasses import dataclass, replace
from pathlib import Path

SCOPES = ("open", "partner", "internal")
KEY_PREFIX = "elk_"
KEY_PATTERN = re.compile(r"^elk_[A-Za-z0-9_-]{43}$")
NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
DISTRICT_PATTERN = re.compile(r"^\d{6}$")


class KeysError(ValueError):
    """The keys file or a command on it is invalid (a usage error, not a failure)."""


@dataclass(frozen=True)
class Caller:
    name: str
    scope: str
    key_sha256: str = ""
    districts: tuple[str, ...] = ()
    enabled: bool = True
    rate: str | None = None

    @property
    def is_anonymous(self) -> bool:
        return not self.key_sha256


OPEN_CALLER = Caller(name="public", scope="open")


def digest(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def is_well_formed(key: str) -> bool:
    return bool(KEY_PATTERN.match(key))


def load(path: Path | None) -> tuple[Caller, ...]:
    """The callers of a keys file; no file means no keys (only the open scope exists)."""
    if path is None or not path.exists():
        return ()
    raw = tomllib.loads(path.read_text(encoding="utf-8"))
    return tuple(_caller(entry) for entry in raw.get("caller", []))


def _caller(entry: dict) -> Caller:
    caller = Caller(
        name=str(entry["name"]),
        scope=str(entry["scope"]),
        key_sha256=str(entry["key_sha256"]),
        districts=tuple(str(d) for d in entry.get("districts", [])),
        enabled=bool(entry.get("enabled", True)),
        rate=entry.get("rate"),
    )
    _validate(caller)
    return caller


def _validate(caller: Caller) -> None:
    if not NAME_PATTERN.match(caller.name):
        raise KeysError(f"caller name {caller.name!r}: letters, digits, '.', '_' or '-', at most 64")
    if caller.scope not in SCOPES:
        raise KeysError(f"caller {caller.name}: scope {caller.scope!r} is not one of {', '.join(SCOPES)}")
    bad = [d for d in caller.districts if not DISTRICT_PATTERN.match(d)]
    if bad:
        raise KeysError(f"caller {caller.name}: districts must be 6-digit codes, not {', '.join(bad)}")
    if not re.fullmatch(r"[0-9a-f]{64}", caller.key_sha256):
        raise KeysError(f"caller {caller.name}: key_sha256 must be 64 lower-case hex digits")


def save(path: Path, callers: tuple[Caller, ...]) -> None:
    """Write the whole file to a temporary name, then rename: a server reading it never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    text = "# Callers of `entity-lakehouse serve`: hashes only (`entity-lakehouse keys issue` adds one).\n"
    text += "".join(_entry(c) for c in callers)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_text(text, encoding="utf-8")
    os.chmod(temporary, 0o600)
    os.replace(temporary, path)


def _entry(caller: Caller) -> str:
    # JSON strings are valid TOML basic strings (same escapes), so names are quoted safely.
    lines = [
        "\n[[caller]]",
        f"name = {json.dumps(caller.name)}",
        f"scope = {json.dumps(caller.scope)}",
        f"districts = {json.dumps(list(caller.districts))}",
        f"enabled = {'true' if caller.enabled else 'false'}",
        f"key_sha256 = {json.dumps(caller.key_sha256)}",
    ]
    if caller.rate:
        lines.append(f"rate = {json.dumps(caller.rate)}")
    return "\n".join(lines) + "\n"


def issue(path: Path, name: str, scope: str, districts: tuple[str, ...] = (), rate: str | None = None) -> str:
    """Add a caller with a new random key; returns the key (the file keeps only its hash)."""
    callers = load(path)
    if any(c.name == name for c in callers):
        raise KeysError(f"caller {name} already exists (disable it, or choose another name)")
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    caller = Caller(name=name, scope=scope, key_sha256=digest(key), districts=districts, rate=rate)
    _validate(caller)
    save(path, (*callers, caller))
    return key


def set_enabled(path: Path, name: str, enabled: bool) -> Caller:
    callers = load(path)
    if not any(c.name == name for c in callers):
        raise KeysError(f"no caller {name} in {path}")
    updated = tuple(replace(c, enabled=enabled) if c.name == name else c for c in callers)
    save(path, updated)
    return next(c for c in updated if c.name == name)


class Registry:
    """The callers of a keys file, read again whenever the file changes, so that disabling or re-enabling a
    key takes effect on the next request without a restart."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._stamp: tuple[int, int] | None = None
        self._by_hash: dict[str, Caller] = {}
        self._refresh()

    def _refresh(self) -> None:
        if self.path is None or not self.path.exists():
            self._stamp, self._by_hash = None, {}
            return
        status = self.path.stat()
        stamp = (status.st_ino, status.st_mtime_ns)
        if stamp != self._stamp:
            self._by_hash = {c.key_sha256: c for c in load(self.path)}
            self._stamp = stamp

    def caller(self, key: str) -> Caller | None:
        """The enabled caller holding this key, or None (unknown, malformed or revoked)."""
        if not is_well_formed(key):
            return None
        self._refresh()
        caller = self._by_hash.get(digest(key))
        return caller if caller is not None and caller.enabled else None

    def rate(self, name: str) -> str | None:
        """A caller's own rate limit, if its entry sets one."""
        return next((c.rate for c in self._by_hash.values() if c.name == name), None)
