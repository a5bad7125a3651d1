"""Finding 7: request bodies were read before the caller was authenticated, with no size cap
(a 300 MB body with no token grew the API by almost 1 GB before it answered 401).

The API runs in this process (serving.ServerThread), so its memory is this process's:
the peak resident size is reset before a request and read after it."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from settings import Settings
from tests.api.conftest import Tokens

MiB = 1024 * 1024
HUGE = 50 * MiB
CHUNK = b"x" * (64 * 1024)


def resident_kib(field: str) -> int:
    """`VmRSS` (now) or `VmHWM` (peak) of this process, in KiB."""
    status = Path("/proc/self/status").read_text()
    match = re.search(rf"^{field}:\s+(\d+) kB", status, re.MULTILINE)
    assert match, field
    return int(match.group(1))


class Streamed:
    """A body of `total` bytes produced as it is sent, counting what was handed over."""

    def __init__(self, total: int) -> None:
        self.total, self.sent = total, 0

    def __iter__(self) -> Iterator[bytes]:
        while self.sent < self.total:
            self.sent += len(CHUNK)
            yield CHUNK


def post_huge(api_url: str, token: str | None, declared: bool) -> tuple[httpx.Response, int]:
    """POST a 50 MB body to the start of a registration; the answer and how many bytes of
    the body had been handed to the socket when it came.

    A blocking client, run in a thread: when the server answers early and closes, its write
    fails and it goes on to read the answer, which the kernel kept. (The async client's
    transport is torn down by the failed write, and the answer with it.)"""
    body = Streamed(HUGE)
    headers = {"Content-Type": "application/json"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    if declared:
        headers["Content-Length"] = str(HUGE)
    with httpx.Client(base_url=api_url, timeout=30) as client:
        response = client.post("/v1/registrations", content=body, headers=headers)
    return response, body.sent


@pytest.mark.parametrize("declared", [False, True], ids=["chunked", "content-length"])
@pytest.mark.parametrize("authenticated", [False, True], ids=["no-token", "portal-token"])
async def test_a_huge_body_is_refused_413_before_it_is_read(
    api_url: str, tokens: Tokens, stack_settings: Settings, authenticated: bool, declared: bool
) -> None:
    token = tokens.portal if authenticated else None
    before = resident_kib("VmRSS")
    Path("/proc/self/clear_refs").write_text("5")  # the peak starts again from now
    response, sent = await asyncio.to_thread(post_huge, api_url, token, declared)
    grew = (resident_kib("VmHWM") - before) // 1024
    assert response.status_code == 413, response.text
    answer = response.json()
    assert response.headers["content-type"] == "application/problem+json"
    assert (answer["code"], answer["status"]) == ("body_too_large", 413)
    assert f"{stack_settings.max_body_bytes} bytes" in answer["message"]
    assert response.headers["connection"] == "close"
    # The answer came while the client was still sending: only socket buffers' worth went out.
    assert sent < HUGE // 4, f"{sent / MiB:.1f} MiB of 50 were sent before the answer"
    assert grew < 16, f"the API process grew by {grew} MiB"


async def test_a_body_over_the_limit_by_a_little_is_refused(
    http: httpx.AsyncClient, tokens: Tokens, stack_settings: Settings
) -> None:
    surname = "x" * stack_settings.max_body_bytes
    over = json.dumps({"surname": surname, "name": "Мария", "phone": "+79161234567"})
    response = await http.post(
        "/v1/registrations", content=over, headers={"Authorization": f"Bearer {tokens.portal}"}
    )
    assert response.status_code == 413, response.text
    assert response.json()["code"] == "body_too_large"


async def test_the_largest_valid_esignature_request_passes_the_limit(
    http: httpx.AsyncClient, tokens: Tokens
) -> None:
    # 65,536 characters is what the route accepts; base64url, so as many bytes. Indented, as
    # some clients send JSON.
    signed = "A" * 65_536
    body = json.dumps({"signed_request": signed}, indent=4).encode()
    assert len(body) > 64 * 1024
    response = await http.post(
        "/v1/partners/esignature/registrations/reg-no-such-registration/confirmation",
        content=body,
        headers={
            "Authorization": f"Bearer {tokens.esignature}",
            "Content-Type": "application/json",
        },
    )
    # Read, validated and handed to the route, which looked the registration up.
    assert response.status_code == 404, response.text
    assert response.json()["code"] == "not_found"


@pytest.mark.parametrize("authenticated", [False, True], ids=["no-token", "portal-token"])
async def test_oversized_headers_are_refused_431(
    http: httpx.AsyncClient, tokens: Tokens, stack_settings: Settings, authenticated: bool
) -> None:
    headers = {"X-Padding": "a" * (stack_settings.max_header_bytes + 1)}
    if authenticated:
        headers["Authorization"] = f"Bearer {tokens.portal}"
    response = await http.get("/v1/support/stuck", headers=headers)
    assert response.status_code == 431, response.text
    assert response.json()["code"] == "headers_too_large"


async def test_headers_just_under_the_limit_are_served(
    http: httpx.AsyncClient, tokens: Tokens, stack_settings: Settings
) -> None:
    padding = "a" * (stack_settings.max_header_bytes - 1024)
    headers = {"Authorization": f"Bearer {tokens.support}", "X-Padding": padding}
    response = await http.get("/v1/support/stuck", headers=headers)
    assert response.status_code == 200, response.text


async def test_a_header_block_far_over_the_limit_is_cut_by_the_server(
    http: httpx.AsyncClient, tokens: Tokens
) -> None:
    headers = {"Authorization": f"Bearer {tokens.support}", "X-Padding": "a" * MiB}
    try:
        response = await http.get("/v1/support/stuck", headers=headers)
    except httpx.TransportError:
        return  # dropped while the client was still sending: cut all the same
    # uvicorn's own answer: the block never reached the API, let alone a route.
    assert response.status_code in (400, 431), response.text
