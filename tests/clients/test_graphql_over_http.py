"""GraphQL over HTTP as clients read it: the graphql-http audit suite with no warning, and the
answers it does not cover (media type negotiation, request errors without `data`, JSON bodies
for every refusal, mutations over GET)."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from resolvers.media_types import prefers_graphql_response
from tests.clients.kit import run_node_tool
from tests.helpers import ServerHandle

GRAPHQL_RESPONSE = "application/graphql-response+json"


async def test_graphql_http_audits_pass_without_warnings(
    client_kit: Path, server: ServerHandle, admin_token: str
) -> None:
    results = json.loads(
        await run_node_tool(
            client_kit,
            "node",
            "checks/graphql-http-audit.mjs",
            f"{server.url}/graphql",
            admin_token,
        )
    )
    assert len(results) > 50  # the whole suite ran
    # "notice" marks what the specification leaves open (MAY); warnings and errors are its
    # SHOULDs and MUSTs.
    failed = [
        (r["id"], r["status"], r["name"], r["reason"], r["response"])
        for r in results
        if r["status"] not in ("ok", "notice")
    ]
    assert failed == []


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        (None, False),
        ("*/*", False),
        ("application/json", False),
        (GRAPHQL_RESPONSE, True),
        (f"{GRAPHQL_RESPONSE}, application/json;q=0.9", True),  # Apollo Client
        (f"application/json, {GRAPHQL_RESPONSE}", True),
        (f"application/json, {GRAPHQL_RESPONSE};q=0.5", False),
        (f"{GRAPHQL_RESPONSE};q=0", False),
        (f"{GRAPHQL_RESPONSE};q=abc", False),
    ],
)
def test_accept_negotiation(accept, expected):
    assert prefers_graphql_response(accept) is expected


async def post(
    server: ServerHandle,
    body: object,
    accept: str | None,
    token: str | None = None,
    content: bytes | None = None,
) -> httpx.Response:
    headers = {"content-type": "application/json"}
    if accept:
        headers["accept"] = accept
    if token:
        headers["authorization"] = f"Bearer {token}"
    async with httpx.AsyncClient(base_url=server.url) as http:
        return await http.post(
            "/graphql", content=content or json.dumps(body).encode(), headers=headers
        )


@pytest.mark.parametrize("accept", [None, "application/json", GRAPHQL_RESPONSE])
async def test_request_errors_have_no_data_and_a_4xx_when_asked(server, admin_token, accept):
    modern = accept == GRAPHQL_RESPONSE
    for body in (
        {"query": "{"},  # does not parse
        {"query": "{ nope }"},  # does not validate
        {"query": "query($id: ID!) { contact(id: $id) { id } }", "variables": {"id": 5.5}},
    ):  # does not coerce
        answer = await post(server, body, accept, admin_token)
        assert answer.status_code == (400 if modern else 200), answer.text
        assert answer.headers["content-type"].startswith(
            GRAPHQL_RESPONSE if modern else "application/json"
        )
        payload = answer.json()
        assert "data" not in payload and payload["errors"][0]["extensions"]["code"]
    anonymous = await post(server, {"query": "{ viewer { id } }"}, accept)
    assert anonymous.status_code == (401 if modern else 200)
    assert anonymous.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    ok = await post(server, {"query": "{ viewer { role } }"}, accept, admin_token)
    assert (ok.status_code, ok.json()) == (200, {"data": {"viewer": {"role": "ADMIN"}}})


@pytest.mark.parametrize("accept", [None, GRAPHQL_RESPONSE])
async def test_every_refusal_is_a_json_errors_body(server, admin_token, accept):
    refusals = [
        ({"query": "query A { viewer { id } }", "operationName": "B"}, None),
        ({"variables": {}}, None),  # no query
        ([{"query": "{ viewer { id } }"}], None),  # batching
        (None, b"{not json"),
    ]
    for body, content in refusals:
        answer = await post(server, body, accept, admin_token, content)
        assert 400 <= answer.status_code < 500, answer.text
        assert answer.headers["content-type"].split(";")[0] in (
            "application/json",
            GRAPHQL_RESPONSE,
        )
        errors = answer.json()["errors"]
        assert errors[0]["message"] and errors[0]["extensions"]["code"] == "BAD_USER_INPUT"
    async with httpx.AsyncClient(base_url=server.url) as http:
        wrong_type = await http.post(
            "/graphql",
            content=b"{ viewer { id } }",
            headers={"content-type": "text/plain", "authorization": f"Bearer {admin_token}"},
        )
        assert wrong_type.status_code in (400, 415)
        assert wrong_type.json()["errors"][0]["message"]


async def test_a_mutation_over_get_is_405_with_allow_post(server, admin_token):
    async with httpx.AsyncClient(base_url=server.url) as http:
        answer = await http.get(
            "/graphql",
            params={"query": "mutation { __typename }"},
            headers={"authorization": f"Bearer {admin_token}", "accept": "application/json"},
        )
    assert answer.status_code == 405
    assert answer.headers["allow"] == "POST"
    assert answer.json()["errors"][0]["message"]
