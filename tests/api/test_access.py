"""Who may call what: every role against every endpoint, and outages answered with 503."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest

from api.app import create_app
from registration.callers import Role
from serving import ServerThread
from settings import Settings
from tests.api.conftest import Tokens
from tests.data import new_phone

# Which role each router serves; health is open to all.
OWNER = {"portal": Role.PORTAL, "clerks": Role.CLERK, "support": Role.SUPPORT}
PARTNER_OWNER = {"bank": Role.BANK, "esignature": Role.ESIGNATURE}


def guarded_routes() -> list[tuple[str, str, Role]]:
    """Every documented endpoint but health, with the role that owns it."""
    routes = []
    for path, operations in create_app().openapi()["paths"].items():
        for method, operation in operations.items():
            tag = operation["tags"][0]
            if tag == "health":
                continue
            owner = OWNER.get(tag) or next(
                role for part, role in PARTNER_OWNER.items() if f"/{part}/" in path
            )
            routes.append((method.upper(), re.sub(r"\{[^}]+\}", "reg-x", path), owner))
    return routes


ROUTES = guarded_routes()


def test_every_endpoint_is_in_the_matrix() -> None:
    assert len(ROUTES) >= 17


@pytest.mark.parametrize(("method", "path", "owner"), ROUTES)
@pytest.mark.parametrize("role", list(Role))
async def test_only_the_owning_role_gets_past_authorization(
    http: httpx.AsyncClient, tokens: Tokens, method: str, path: str, owner: Role, role: Role
) -> None:
    response = await http.request(
        method, path, json={}, headers={"Authorization": f"Bearer {tokens.of(role)}"}
    )
    if role is owner:
        # Past the token and the role; a citizen step may still want its session (401).
        assert response.json().get("code") not in ("unauthenticated", "forbidden"), response.text
    else:
        assert response.status_code == 403, response.text
        assert response.json()["code"] == "forbidden"


@pytest.mark.parametrize(("method", "path", "owner"), ROUTES)
async def test_every_endpoint_needs_a_token(
    http: httpx.AsyncClient, method: str, path: str, owner: Role
) -> None:
    response = await http.request(method, path, json={})
    assert response.status_code == 401
    assert response.json()["code"] == "unauthenticated"


async def test_a_clerk_confirms_in_their_own_center_s_name_only(
    http: httpx.AsyncClient, tokens: Tokens
) -> None:
    """The service center comes from the clerk's token: a body naming another is ignored."""
    response = await http.post(
        "/v1/clerk/registrations/reg-x/in-person-confirmation",
        json={
            "passport_series": "4512",
            "passport_number": "345678",
            "snils": "11223344595",
            "service_center_id": "mfc-other",
            "clerk_id": "someone-else",
        },
        headers={"Authorization": f"Bearer {tokens.other_center_clerk}"},
    )
    assert response.status_code == 404  # reached the workflow lookup, with its own identity


# --- outages --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def api_without_temporal(stack_settings: Settings) -> Iterator[str]:
    settings = stack_settings.model_copy(update={"temporal_address": "127.0.0.1:1"})
    with ServerThread(create_app(settings), name="api-no-temporal", lifespan="on") as server:
        yield server.url


@pytest.fixture(scope="module")
def api_without_database(
    stack_settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    nowhere = tmp_path_factory.mktemp("no-postgres")
    url = f"postgresql+psycopg://postgres:@/postgres?host={nowhere}&connect_timeout=2"
    settings = stack_settings.model_copy(update={"database_url": url})
    with ServerThread(create_app(settings), name="api-no-db", lifespan="on") as server:
        yield server.url


async def test_temporal_down_is_503_with_retry_after(
    api_without_temporal: str, tokens: Tokens
) -> None:
    async with httpx.AsyncClient(base_url=api_without_temporal, timeout=30) as http:
        response = await http.post(
            "/v1/registrations",
            json={"surname": "Иванова", "name": "Мария", "phone": new_phone()},
            headers={"Authorization": f"Bearer {tokens.portal}"},
        )
        assert response.status_code == 503, response.text
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["code"] == "unavailable"
        assert response.json()["type"] == "https://gosreg.example/problems/unavailable"
        assert "Temporal" in response.json()["detail"]
        assert response.headers["Retry-After"] == "5"
        ready = await http.get("/health/ready")
        assert ready.status_code == 503
        assert ready.json()["temporal"] == "unreachable" and ready.json()["database"] == "ok"


async def test_database_down_is_503_with_retry_after(
    api_without_database: str, tokens: Tokens
) -> None:
    async with httpx.AsyncClient(base_url=api_without_database, timeout=30) as http:
        response = await http.get(
            "/v1/registrations/reg-x",
            headers={
                "Authorization": f"Bearer {tokens.portal}",
                "X-Registration-Session": "grs_" + "x" * 43,
            },
        )
        assert response.status_code == 503, response.text
        assert response.json()["code"] == "unavailable"
        ready = await http.get("/health/ready")
        assert ready.status_code == 503 and ready.json()["database"] == "unreachable"
