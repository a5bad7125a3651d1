"""A Temporal the client cannot connect to is told apart from a bug by where the failure was
raised, not by its text (`service.temporal.is_connect_failure`)."""

from __future__ import annotations

import pytest
from temporalio.client import Client

from service.temporal import is_connect_failure


async def test_a_lazy_client_that_cannot_connect_fails_as_a_connect_failure() -> None:
    client = await Client.connect("127.0.0.1:1", lazy=True)
    with pytest.raises(RuntimeError) as raised:
        await client.get_workflow_handle("reg-x").describe()
    assert is_connect_failure(raised.value)


async def test_another_runtime_error_is_not_a_connect_failure() -> None:
    try:
        raise RuntimeError("Failed client connect: it says so, but it is not")
    except RuntimeError as error:
        assert not is_connect_failure(error)
    assert not is_connect_failure(ConnectionError("client connect"))
