"""An update's proof names when our service sent it, and the worker takes it only for
`PROOF_TTL` after that (and not from the future beyond `CLOCK_SKEW`): a request copied from
history is stale. Made here with the real key and a wrong clock, so only the time is wrong;
the worker is the stack's (`VerifyingWorker` with its default freshness)."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment

from codec.encryption import data_converter
from registration.messages import Cancel, StepDone
from service.attestation import CLOCK_SKEW, PROOF_TTL, UNATTESTED, AttestingClient, attestation_key
from settings import Settings
from simulators.control import SimulatorControl
from tests.citizens import Citizen
from tests.security.conftest import ApiWith


def client_with_clock(
    dev_server: WorkflowEnvironment, settings: Settings, clock: Callable[[], float]
) -> Client:
    config = dev_server.client.config()
    config["data_converter"] = data_converter(settings.keyring)
    key = attestation_key(settings.code_secret_bytes)
    config["interceptors"] = [AttestingClient(key, clock=clock)]
    return Client(**config)


@pytest.mark.parametrize(
    "offset",
    [-(PROOF_TTL.total_seconds() + 60), CLOCK_SKEW.total_seconds() + 60],
    ids=["sent-too-long-ago", "sent-from-the-future"],
)
async def test_an_update_proven_at_another_time_is_refused(
    api_with: ApiWith,
    fresh_portal: str,
    outbox: SimulatorControl,
    dev_server: WorkflowEnvironment,
    stack_settings: Settings,
    offset: float,
) -> None:
    async with api_with() as http:
        citizen = Citizen(http, fresh_portal, outbox)
        await citizen.start()
    cancel = Cancel(actor="support:someone", reason="a copied request")
    wrong_time = client_with_clock(dev_server, stack_settings, lambda: time.time() + offset)
    handle = wrong_time.get_workflow_handle(citizen.id)
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await handle.execute_update("cancel", cancel, result_type=StepDone)
    cause = refused.value.cause
    assert isinstance(cause, ApplicationError) and cause.type == UNATTESTED

    right_time = client_with_clock(dev_server, stack_settings, time.time)
    done = await right_time.get_workflow_handle(citizen.id).execute_update(
        "cancel", cancel, result_type=StepDone
    )
    assert done.stage == "cancelled", "the same update, proven now, is taken"
