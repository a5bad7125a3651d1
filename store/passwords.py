"""Password hashes: Argon2id with argon2-cffi's default (RFC 9106 low-memory) parameters.

Hashing is deliberately slow (tens of milliseconds of CPU); async callers should run these
functions with `asyncio.to_thread` so the event loop is not blocked.
"""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import VerifyMismatchError

_hasher = PasswordHasher()


def hash_password(password: str) -> str:
    """The encoded hash (salt and parameters included) to store instead of the password."""
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Whether `password` matches `password_hash`; no password matches an account without
    one (made at a counter, its link not used yet). A malformed hash raises
    `argon2.exceptions.InvalidHashError`: that is corrupt data, not a wrong password."""
    if password_hash is None:
        return False
    try:
        return _hasher.verify(password_hash, password)
    except VerifyMismatchError:
        return False
