"""The payload codec that keeps personal data out of Temporal: every payload is encrypted.

Temporal stores whatever a client or worker sends: workflow inputs and results, signals,
updates, queries, activity arguments, memos, failure messages. `data_converter` encrypts all
of it, on its way out of this process, with AES-256-GCM under the keyring's active key.

An encrypted payload carries, in clear, only `encoding: binary/encrypted` and the id of its
key; its data is a 12-byte random nonce followed by the ciphertext of the whole original
payload (metadata included), authenticated together with the key id.

Payloads are not compressed first: they are small (hundreds of bytes), so zlib would save
little, and compressing attacker-chosen input next to secrets before encrypting lets the
ciphertext's length betray the secrets.
"""

from __future__ import annotations

import dataclasses
import logging
import os
from collections.abc import Sequence

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from temporalio.api.common.v1 import Payload
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import (
    DataConverter,
    DefaultFailureConverterWithEncodedAttributes,
    PayloadCodec,
)

from codec.keys import Keyring, is_key_id

ENCODING = b"binary/encrypted"
UNDECODABLE = b"binary/undecodable"
"""What a worker's codec turns a payload it cannot decrypt into: no converter reads it, so
the signal carrying it is dropped and the update refused, instead of failing every workflow
task of the registration from then on (anyone who can send a signal could wedge one)."""
KEY_ID = "encryption-key-id"
log = logging.getLogger(__name__)
NONCE_BYTES = 12


class DecryptionError(ValueError):
    """A payload that cannot be decrypted with this keyring. The message names the key id
    and the remedy; it never holds payload content or key material."""

    def __init__(self, key_id: str | None, message: str) -> None:
        super().__init__(message)
        self.key_id = key_id


class EncryptionCodec(PayloadCodec):
    """Encrypts every payload with the keyring's active key; decrypts with whichever key a
    payload names. Plaintext payloads (histories written before encryption) decode as
    they are, so those registrations keep replaying."""

    def __init__(self, keyring: Keyring, *, refuse_undecodable: bool = False) -> None:
        super().__init__()
        self._refuse_undecodable = refuse_undecodable
        self._active = keyring.active
        self._active_id = keyring.active.encode()
        # One cipher per key, built once: this runs on every payload.
        self._ciphers = {key_id: AESGCM(key) for key_id, key in keyring.keys.items()}

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self._encrypt(payload) for payload in payloads]

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self._decode(payload) for payload in payloads]

    def _decode(self, payload: Payload) -> Payload:
        try:
            return self._decrypt(payload)
        except DecryptionError as error:
            if not self._refuse_undecodable:
                raise
            log.warning("undecodable payload refused: %s", error)
            return Payload(metadata={"encoding": UNDECODABLE})

    def _encrypt(self, payload: Payload) -> Payload:
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._ciphers[self._active].encrypt(
            nonce, payload.SerializeToString(), self._active_id
        )
        return Payload(
            metadata={"encoding": ENCODING, KEY_ID: self._active_id}, data=nonce + sealed
        )

    def _decrypt(self, payload: Payload) -> Payload:
        if payload.metadata.get("encoding") != ENCODING:
            return payload
        raw_id = payload.metadata.get(KEY_ID, b"")
        key_id = raw_id.decode(errors="replace")
        if not is_key_id(key_id):
            # Whatever is there was not written by this codec: do not quote it.
            raise DecryptionError(None, f"an encrypted payload has no well-formed {KEY_ID}")
        cipher = self._ciphers.get(key_id)
        if cipher is None:
            raise DecryptionError(
                key_id,
                f"payload encrypted with key {key_id!r}, which is not in the keyring; "
                "add it back to GOSREG_CODEC_KEYS",
            )
        nonce, sealed = payload.data[:NONCE_BYTES], payload.data[NONCE_BYTES:]
        try:
            return Payload.FromString(cipher.decrypt(nonce, sealed, raw_id))
        except (InvalidTag, ValueError):  # ValueError: data too short to hold a nonce
            raise DecryptionError(
                key_id,
                f"payload encrypted with key {key_id!r} failed authentication: it was altered, "
                "or the key under that id is not the one that encrypted it",
            ) from None


def data_converter(keyring: Keyring, *, worker: bool = False) -> DataConverter:
    """The project's converter (pydantic) with every payload encrypted, failure messages and
    stack traces included (they can quote input): use it for every client and worker. A
    `worker`'s refuses what it cannot decrypt (`UNDECODABLE`) rather than failing on it."""
    return dataclasses.replace(
        pydantic_data_converter,
        payload_codec=EncryptionCodec(keyring, refuse_undecodable=worker),
        failure_converter_class=DefaultFailureConverterWithEncodedAttributes,
    )
