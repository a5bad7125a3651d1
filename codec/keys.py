"""The keys that encrypt payloads: a keyring of AES-256 keys named by short ids.

Every key in the ring decrypts; only the `active` one encrypts. A key's id is written, in
clear, into the metadata of every payload it encrypts, so that a payload names the key it
needs; ids therefore carry no secret and no personal data (`k-YYYYMMDD-xxxx`).

Configuration holds the ring as JSON (`GOSREG_CODEC_KEYS`)::

    {"active": "k-20261123-ab12", "keys": {"k-20261123-ab12": "<urlsafe base64 of 32 bytes>"}}

Rotation adds a fresh key and makes it active; older keys stay, so older histories still
decode. Retire a key only when no history that it encrypted is still needed.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import re
import secrets
import tempfile
from collections.abc import Callable, Container, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import MappingProxyType

KEY_BYTES = 32
_KEY_ID = re.compile(r"[a-z0-9-]{1,32}")
_KEY_ID_RULE = "key ids are 1 to 32 characters of a-z, 0-9 and '-'"


@dataclass(frozen=True)
class Keyring:
    """AES-256 keys by id; `active` names the one that encrypts. Construction validates:
    a malformed ring raises ValueError, whose message never quotes key material."""

    active: str
    keys: Mapping[str, bytes] = field(repr=False)

    def __post_init__(self) -> None:
        for key_id, key in self.keys.items():
            if not is_key_id(key_id):
                raise ValueError(f"a key id is malformed: {_KEY_ID_RULE}")
            if len(key) != KEY_BYTES:
                raise ValueError(
                    f"key {key_id!r} is {len(key)} bytes long; AES-256 needs {KEY_BYTES}"
                )
        if self.active not in self.keys:
            named = f"{self.active!r}" if is_key_id(self.active) else "(malformed id)"
            raise ValueError(f"the active key {named} is not among the keys")
        # A copy nobody else holds, read-only: the ring cannot change under a running codec.
        object.__setattr__(self, "keys", MappingProxyType(dict(self.keys)))

    @classmethod
    def generate(cls) -> Keyring:
        """A ring of one fresh random key, active."""
        key_id = _new_key_id(taken=())
        return cls(active=key_id, keys={key_id: secrets.token_bytes(KEY_BYTES)})

    @classmethod
    def parse(cls, text: str) -> Keyring:
        """The ring in its JSON form (see the module's docstring). ValueError says what is
        wrong with it, never quoting a key."""
        try:
            document = json.loads(text)
        except json.JSONDecodeError as error:
            # The decoder's own message is safe, but keep to position only, by construction.
            raise ValueError(
                f"the keyring is not valid JSON (line {error.lineno}, column {error.colno})"
            ) from None
        if not isinstance(document, dict) or set(document) != {"active", "keys"}:
            raise ValueError(
                'the keyring must be a JSON object with exactly "active" and "keys", '
                'e.g. {"active": "k-1", "keys": {"k-1": "<urlsafe base64 of 32 bytes>"}}'
            )
        active, encoded = document["active"], document["keys"]
        if not isinstance(active, str):
            raise ValueError('"active" must be a key id (a string)')
        if not isinstance(encoded, dict) or not encoded:
            raise ValueError('"keys" must be a non-empty object of key id -> base64 key')
        keys: dict[str, bytes] = {}
        for key_id, value in encoded.items():
            if not is_key_id(key_id):
                raise ValueError(f"a key id is malformed: {_KEY_ID_RULE}")
            keys[key_id] = _decode_key(key_id, value)
        return cls(active=active, keys=keys)

    def dumps(self) -> str:
        """The ring as one line of JSON, the form `parse` reads (and configuration holds)."""
        encoded = {
            key_id: base64.urlsafe_b64encode(key).decode() for key_id, key in self.keys.items()
        }
        return json.dumps({"active": self.active, "keys": encoded})

    def rotated(self) -> Keyring:
        """This ring plus a fresh key, which becomes active; every older key still decrypts.

        Every process that decodes must hold the new key before any process encrypts with
        it: restart them all on the rotated ring (the dev stack does). With processes rolling
        over one by one, use `added()` first and `activated()` once all of them hold the key."""
        ring = self.added()
        return ring.activated(next(key for key in ring.keys if key not in self.keys))

    def added(self) -> Keyring:
        """This ring plus a fresh key that decrypts but does not encrypt yet (the first step
        of a rolling rotation)."""
        key_id = _new_key_id(taken=self.keys)
        return Keyring(
            active=self.active, keys={**self.keys, key_id: secrets.token_bytes(KEY_BYTES)}
        )

    def activated(self, key_id: str) -> Keyring:
        """This ring encrypting with `key_id` from now on (a key it already holds)."""
        if key_id not in self.keys:
            raise ValueError(
                f"there is no key {key_id!r} in the ring" if is_key_id(key_id) else "no such key"
            )
        return Keyring(active=key_id, keys=self.keys)

    def retired(self, key_id: str) -> Keyring:
        """This ring without `key_id`: what it encrypted no longer decodes. The active key
        cannot be retired (rotate first); neither can a key the ring does not hold."""
        if key_id == self.active:
            raise ValueError(f"key {key_id!r} is active; rotate to a new key before retiring it")
        if key_id not in self.keys:
            raise ValueError(f"the keyring has no key {key_id!r}")
        return Keyring(
            active=self.active, keys={kid: key for kid, key in self.keys.items() if kid != key_id}
        )


def load_keyring(configured: str | None, path: Path) -> Keyring:
    """The configured ring when there is one; otherwise the ring kept in `path`
    (`FileNotFoundError` if there is none: `create_keyring_file` makes one)."""
    if configured is not None:
        return Keyring.parse(configured)
    return _read(path)


def create_keyring_file(path: Path) -> bool:
    """Generate a ring into `path` (mode 0600) unless one is there: how a development
    machine gets its own keys. Processes doing it together agree on one ring. Whether this
    call wrote it."""
    if path.exists():
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    _write(path, Keyring.generate(), replace=False)
    return True


def rotate_keyring_file(path: Path) -> Keyring:
    """Rotate the ring kept in `path` (see `Keyring.rotated`) and write it back; returns the
    rotated ring. Processes that already loaded the ring keep the old one until restarted."""
    return change_keyring_file(path, Keyring.rotated)


def change_keyring_file(path: Path, change: Callable[[Keyring], Keyring]) -> Keyring:
    """Apply `change` to the ring kept in `path` and write the result back whole."""
    changed = change(_read(path))
    _write(path, changed, replace=True)
    return changed


def _read(path: Path) -> Keyring:
    try:
        return Keyring.parse(path.read_text())
    except ValueError as error:
        raise ValueError(f"{path}: {error}") from None


def _write(path: Path, ring: Keyring, *, replace: bool) -> None:
    """Write `ring` to `path` whole or not at all: a reader never sees half a file. Unless
    `replace`, an existing file wins (another process generated its ring first)."""
    # mkstemp creates the file with mode 0600, before any key is written into it.
    descriptor, staged = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(descriptor, "w") as file:
            file.write(ring.dumps() + "\n")
            file.flush()
            os.fsync(file.fileno())
        if replace:
            os.replace(staged, path)
        else:
            try:
                os.link(staged, path)
            except FileExistsError:
                pass
    finally:
        if os.path.lexists(staged):
            os.unlink(staged)


def is_key_id(text: object) -> bool:
    """Whether `text` has the form of a key id (safe to quote in messages and logs)."""
    return isinstance(text, str) and _KEY_ID.fullmatch(text) is not None


def _new_key_id(taken: Container[str]) -> str:
    day = datetime.now(UTC).strftime("%Y%m%d")
    while (key_id := f"k-{day}-{secrets.token_hex(2)}") in taken:
        pass
    return key_id


def _decode_key(key_id: str, value: object) -> bytes:
    if not isinstance(value, str):
        raise ValueError(f"key {key_id!r} must be a base64 string")
    try:
        return base64.b64decode(value + "=" * (-len(value) % 4), altchars=b"-_", validate=True)
    except (binascii.Error, ValueError):
        raise ValueError(f"key {key_id!r} is not valid urlsafe base64") from None
