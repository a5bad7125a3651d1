"""The proofs our services put on signals and updates, and what the worker does without one
(attacks on a real stack: tests/security/test_adversary_temporal_access.py)."""

from __future__ import annotations

import pytest
from temporalio.api.common.v1 import Payload
from temporalio.workflow import _Definition

from codec import DecryptionError, EncryptionCodec, Keyring
from codec.encryption import ENCODING, KEY_ID, UNDECODABLE
from registration.messages import PasswordSet, SubmitCode
from service.attestation import attestation_key, proof
from workflows import RegistrationWorkflow

KEY = attestation_key(b"code-secret")


def test_a_proof_binds_the_workflow_the_handler_and_the_arguments() -> None:
    step = SubmitCode(code_hash="a" * 64, session_id="ses_1")
    mine = proof(KEY, "reg-1", "submit_contact_code", [step])
    assert mine == proof(KEY, "reg-1", "submit_contact_code", [step.model_copy()])
    assert mine != proof(KEY, "reg-2", "submit_contact_code", [step])
    assert mine != proof(KEY, "reg-1", "submit_letter_code", [step])
    assert mine != proof(
        KEY, "reg-1", "submit_contact_code", [step.model_copy(update={"session_id": "ses_2"})]
    )
    assert mine != proof(attestation_key(b"other"), "reg-1", "submit_contact_code", [step])


def test_a_field_left_at_its_default_does_not_change_the_proof() -> None:
    """A sender whose model lacks a new optional field proves the same message."""
    assert proof(KEY, "reg-1", "password_set", [PasswordSet()]) == proof(
        KEY, "reg-1", "password_set", [PasswordSet(session_id=None, staged_id=None)]
    )


def test_every_update_has_a_validator_so_the_worker_checks_every_proof() -> None:
    """The worker checks proofs where the SDK runs validators: an update without one would
    take any message."""
    updates = _Definition.must_from_class(RegistrationWorkflow).updates
    assert updates
    assert [name for name, update in updates.items() if update.validator is None] == []


async def test_a_worker_refuses_what_it_cannot_decrypt_instead_of_failing_on_it() -> None:
    keyring = Keyring.generate()
    forged = Payload(
        metadata={"encoding": ENCODING, KEY_ID: keyring.active.encode()}, data=b"x" * 40
    )
    [refused] = await EncryptionCodec(keyring, refuse_undecodable=True).decode([forged])
    assert refused.metadata["encoding"] == UNDECODABLE and refused.data == b""
    with pytest.raises(DecryptionError):  # a client's codec says so
        await EncryptionCodec(keyring).decode([forged])
