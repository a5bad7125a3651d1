"""The payload codec and its keyring: what Temporal stores is ciphertext, and keys rotate."""

from __future__ import annotations

import base64
import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from temporalio.api.common.v1 import Payload
from temporalio.api.failure.v1 import Failure
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.exceptions import ApplicationError

from codec import (
    DecryptionError,
    EncryptionCodec,
    Keyring,
    create_keyring_file,
    data_converter,
    load_keyring,
    rotate_keyring_file,
)
from registration.contact import Channel, Contact
from registration.person import Person
from tests.data import ADDRESS, PROFILE

SECRETS = [
    b"4512",
    b"345678",
    "Иванова".encode(),
    b"112-233-445 95",
    "Мясницкая".encode(),
    b"+79161234567",
    b"json/plain",
]


def personal_payloads() -> list[Payload]:
    """What a registration hands Temporal: a profile, an address, a contact, a name."""
    contact = Contact(channel=Channel.SMS, address="+79161234567")
    person = Person(surname="Иванова", name="Мария")
    return pydantic_data_converter.payload_converter.to_payloads(
        [PROFILE, ADDRESS, contact, person]
    )


async def test_encoded_payloads_decode_to_the_originals() -> None:
    codec = EncryptionCodec(Keyring.generate())
    originals = personal_payloads()

    decoded = await codec.decode(await codec.encode(originals))

    assert decoded == originals
    values = pydantic_data_converter.payload_converter.from_payloads(decoded, [type(PROFILE)])
    assert values[0] == PROFILE


async def test_encoded_payloads_hold_none_of_the_personal_data() -> None:
    ring = Keyring.generate()
    encoded = await EncryptionCodec(ring).encode(personal_payloads())

    for payload in encoded:
        assert dict(payload.metadata) == {
            "encoding": b"binary/encrypted",
            "encryption-key-id": ring.active.encode(),
        }
        stored = payload.SerializeToString()
        for secret in SECRETS:
            assert secret not in stored


async def test_every_encoding_takes_a_fresh_nonce() -> None:
    codec = EncryptionCodec(Keyring.generate())
    [payload] = personal_payloads()[:1]

    first, second = [(await codec.encode([payload]))[0].data for _ in range(2)]

    assert first[:12] != second[:12]
    assert first != second


async def test_after_rotation_old_payloads_decode_and_new_ones_take_the_new_key() -> None:
    old_ring = Keyring.generate()
    originals = personal_payloads()
    old = await EncryptionCodec(old_ring).encode(originals)

    new_ring = old_ring.rotated()
    codec = EncryptionCodec(new_ring)

    assert new_ring.active != old_ring.active
    assert set(new_ring.keys) == {old_ring.active, new_ring.active}
    assert await codec.decode(old) == originals
    [new] = await codec.encode(originals[:1])
    assert new.metadata["encryption-key-id"] == new_ring.active.encode()


async def test_after_retiring_a_key_its_payloads_fail_naming_the_key() -> None:
    old_ring = Keyring.generate()
    old = await EncryptionCodec(old_ring).encode(personal_payloads())
    ring = old_ring.rotated().retired(old_ring.active)

    with pytest.raises(DecryptionError) as raised:
        await EncryptionCodec(ring).decode(old)

    assert raised.value.key_id == old_ring.active
    assert str(raised.value) == (
        f"payload encrypted with key '{old_ring.active}', which is not in the keyring; "
        "add it back to GOSREG_CODEC_KEYS"
    )


def test_the_active_key_cannot_be_retired() -> None:
    ring = Keyring.generate()
    with pytest.raises(ValueError, match="is active; rotate"):
        ring.retired(ring.active)
    with pytest.raises(ValueError, match="has no key 'k-nope'"):
        ring.rotated().retired("k-nope")


async def test_altered_ciphertext_fails_authentication() -> None:
    ring = Keyring.generate()
    codec = EncryptionCodec(ring)
    [payload] = await codec.encode(personal_payloads()[:1])
    flipped = bytearray(payload.data)
    flipped[-1] ^= 1
    truncated = payload.data[:5]

    for data in (bytes(flipped), truncated):
        altered = Payload(metadata=dict(payload.metadata), data=data)
        with pytest.raises(DecryptionError, match="failed authentication") as raised:
            await codec.decode([altered])
        assert raised.value.key_id == ring.active


async def test_a_payload_moved_under_another_key_id_fails() -> None:
    """The key id is authenticated with the data: relabelling a payload is detected."""
    ring = Keyring.generate().rotated()
    codec = EncryptionCodec(ring)
    [payload] = await codec.encode(personal_payloads()[:1])
    other = next(key_id for key_id in ring.keys if key_id != ring.active)
    relabelled = Payload(
        metadata={"encoding": b"binary/encrypted", "encryption-key-id": other.encode()},
        data=payload.data,
    )

    with pytest.raises(DecryptionError, match="failed authentication"):
        await codec.decode([relabelled])


async def test_a_malformed_key_id_is_not_quoted() -> None:
    codec = EncryptionCodec(Keyring.generate())
    forged = Payload(
        metadata={"encoding": b"binary/encrypted", "encryption-key-id": "Иванова".encode()},
        data=b"x" * 40,
    )

    with pytest.raises(DecryptionError) as raised:
        await codec.decode([forged])

    assert "Иванова" not in str(raised.value)
    assert raised.value.key_id is None


async def test_plaintext_payloads_from_before_encryption_pass_through() -> None:
    codec = EncryptionCodec(Keyring.generate())
    plaintext = personal_payloads()

    assert await codec.decode(plaintext) == plaintext


async def test_the_data_converter_encrypts_failure_messages() -> None:
    converter = data_converter(Keyring.generate())
    failure = Failure()

    await converter.encode_failure(
        ApplicationError("passport 4512 345678 of Иванова is invalid"), failure
    )

    assert failure.message == "Encoded failure"
    assert failure.encoded_attributes.metadata["encoding"] == b"binary/encrypted"
    stored = failure.SerializeToString()
    assert b"345678" not in stored
    assert "Иванова".encode() not in stored
    decoded = await converter.decode_failure(failure)
    assert str(decoded) == "passport 4512 345678 of Иванова is invalid"


async def test_the_data_converter_encrypts_values() -> None:
    converter = data_converter(Keyring.generate())

    [payload] = await converter.encode([PROFILE])

    assert payload.metadata["encoding"] == b"binary/encrypted"
    assert await converter.decode([payload], [type(PROFILE)]) == [PROFILE]


# --- the keyring's JSON form ----------------------------------------------------------------


def key_text(key: bytes) -> str:
    return base64.urlsafe_b64encode(key).decode()


def test_a_keyring_survives_its_json_form() -> None:
    ring = Keyring.generate().rotated()

    assert Keyring.parse(ring.dumps()) == ring


def test_keys_are_accepted_without_base64_padding() -> None:
    key = bytes(range(32))
    text = json.dumps({"active": "k-1", "keys": {"k-1": key_text(key).rstrip("=")}})

    assert Keyring.parse(text).keys["k-1"] == key


def test_generated_key_ids_say_when_and_nothing_else() -> None:
    ring = Keyring.generate()

    assert len(ring.keys[ring.active]) == 32
    assert ring.active.startswith("k-2")
    assert len(ring.active) == len("k-20261123-ab12")


def test_the_repr_shows_no_key() -> None:
    ring = Keyring.generate()

    assert key_text(ring.keys[ring.active]) not in repr(ring)
    assert "keys" not in repr(ring)


SHORT_KEY = key_text(b"k" * 16)
LONG_SECRET = key_text(b"s" * 32)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{not json", r"not valid JSON \(line 1, column 2\)"),
        ("[]", 'exactly "active" and "keys"'),
        ('{"active": "k-1"}', 'exactly "active" and "keys"'),
        ('{"active": 1, "keys": {}}', '"active" must be a key id'),
        ('{"active": "k-1", "keys": {}}', '"keys" must be a non-empty object'),
        ('{"active": "k-1", "keys": {"k-1": 5}}', "key 'k-1' must be a base64 string"),
        ('{"active": "k-1", "keys": {"k-1": "!!!"}}', "key 'k-1' is not valid urlsafe base64"),
        (
            f'{{"active": "k-1", "keys": {{"k-1": "{SHORT_KEY}"}}}}',
            "key 'k-1' is 16 bytes long; AES-256 needs 32",
        ),
        (
            f'{{"active": "k-2", "keys": {{"k-1": "{LONG_SECRET}"}}}}',
            "the active key 'k-2' is not among the keys",
        ),
        (
            f'{{"active": "{LONG_SECRET}", "keys": {{"k-1": "{LONG_SECRET}"}}}}',
            r"the active key \(malformed id\) is not among the keys",
        ),
        (
            f'{{"active": "k-1", "keys": {{"{LONG_SECRET}": "{LONG_SECRET}"}}}}',
            "a key id is malformed: key ids are 1 to 32 characters",
        ),
    ],
)
def test_a_malformed_keyring_is_refused_without_quoting_keys(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message) as raised:
        Keyring.parse(text)

    assert LONG_SECRET not in str(raised.value)
    assert SHORT_KEY not in str(raised.value)


# --- the keyring file of a development machine ----------------------------------------------


def test_a_development_keyring_is_created_once_and_kept(tmp_path: Path) -> None:
    path = tmp_path / "devstack" / "codec_keys.json"
    with pytest.raises(FileNotFoundError):
        load_keyring(None, path)  # reading never creates one

    assert create_keyring_file(path)
    first = load_keyring(None, path)
    assert not create_keyring_file(path)
    again = load_keyring(None, path)

    assert again == first
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert list(path.parent.iterdir()) == [path]  # no staging file left behind


def test_configuration_wins_over_the_file(tmp_path: Path) -> None:
    path = tmp_path / "codec_keys.json"
    configured = Keyring.generate()

    assert load_keyring(configured.dumps(), path) == configured
    assert not path.exists()


def test_a_broken_keyring_file_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "codec_keys.json"
    path.write_text("{")

    with pytest.raises(ValueError, match=f"^{path}: the keyring is not valid JSON"):
        load_keyring(None, path)


def test_rotating_the_file_keeps_the_old_key_and_activates_a_new_one(tmp_path: Path) -> None:
    path = tmp_path / "codec_keys.json"
    create_keyring_file(path)
    before = load_keyring(None, path)

    rotated = rotate_keyring_file(path)

    assert load_keyring(None, path) == rotated
    assert rotated.active != before.active
    assert rotated.keys[before.active] == before.keys[before.active]
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


async def test_a_rolling_rotation_never_leaves_a_process_unable_to_decode() -> None:
    old = Keyring.generate()
    added = old.added()  # step 1: every process learns the key; still encrypting with the old
    assert added.active == old.active and len(added.keys) == 2
    new_key = next(key for key in added.keys if key not in old.keys)
    activated = added.activated(new_key)  # step 2: new payloads use it

    from_rolled = await EncryptionCodec(activated).encode(personal_payloads())
    from_lagging = await EncryptionCodec(added).encode(personal_payloads())

    assert await EncryptionCodec(added).decode(from_rolled) == personal_payloads()
    assert await EncryptionCodec(activated).decode(from_lagging) == personal_payloads()
    with pytest.raises(ValueError, match="no key 'k-x'"):
        added.activated("k-x")


def test_keys_commands_walk_a_rolling_rotation(tmp_path: Path) -> None:
    env = {**os.environ, "GOSREG_DATA_DIR": str(tmp_path)}
    env.pop("GOSREG_CODEC_KEYS", None)

    def gosreg(*args: str) -> list[str]:
        done = subprocess.run(
            [sys.executable, "-m", "ops.cli", "keys", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert done.returncode == 0, done.stderr
        return [line for line in done.stdout.splitlines() if line.startswith("k-")]

    created = subprocess.run(
        [sys.executable, "-m", "ops.cli", "secrets"], env=env, capture_output=True, timeout=30
    )
    assert created.returncode == 0, created.stderr
    first = gosreg("list")
    assert len(first) == 1 and first[0].endswith("(active)")
    old = first[0].split()[0]
    added = gosreg("add")
    new = next(line for line in added if not line.startswith(old))
    assert new.split()[0] != old and "(active)" not in new
    assert any(line.endswith("(active)") for line in gosreg("activate", new.split()[0]))
    assert gosreg("retire", old) == [f"{new.split()[0]}  (active)"]
    assert old.encode() not in (tmp_path / "codec_keys.json").read_bytes()
