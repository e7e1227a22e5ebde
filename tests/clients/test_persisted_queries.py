"""Apollo's automatic persisted queries: the hash alone once the document was sent with it, over
POST and GET; an unknown hash answered PERSISTED_QUERY_NOT_FOUND; a wrong hash refused."""

from __future__ import annotations

import hashlib
import json

import httpx

QUERY = "query Me { viewer { role } }"
HASH = hashlib.sha256(QUERY.encode()).hexdigest()
PERSISTED = {"persistedQuery": {"version": 1, "sha256Hash": HASH}}


async def test_a_hash_alone_runs_once_the_document_was_registered(server, admin_token):
    auth = {"authorization": f"Bearer {admin_token}"}
    async with httpx.AsyncClient(base_url=server.url, headers=auth) as http:
        unknown = await http.post("/graphql", json={"extensions": PERSISTED})
        assert unknown.status_code == 200
        assert unknown.json() == {
            "errors": [
                {
                    "message": "PersistedQueryNotFound",
                    "extensions": {"code": "PERSISTED_QUERY_NOT_FOUND"},
                }
            ]
        }
        registered = await http.post("/graphql", json={"query": QUERY, "extensions": PERSISTED})
        assert registered.json() == {"data": {"viewer": {"role": "ADMIN"}}}
        by_hash = await http.post("/graphql", json={"extensions": PERSISTED})
        assert by_hash.json() == {"data": {"viewer": {"role": "ADMIN"}}}
        # Over GET: the URL names the operation, so a cache can keep the answer.
        by_get = await http.get(
            "/graphql",
            params={"extensions": json.dumps(PERSISTED)},
            headers={"accept": "application/json"},
        )
        assert (by_get.status_code, by_get.json()) == (200, {"data": {"viewer": {"role": "ADMIN"}}})


async def test_a_document_that_does_not_match_its_hash_is_refused(server, admin_token):
    other = {"persistedQuery": {"version": 1, "sha256Hash": "0" * 64}}
    auth = {"authorization": f"Bearer {admin_token}"}
    async with httpx.AsyncClient(base_url=server.url, headers=auth) as http:
        refused = await http.post(
            "/graphql",
            json={"query": QUERY, "extensions": other},
            headers={"accept": "application/graphql-response+json"},
        )
        assert refused.status_code == 400
        assert refused.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
        # Nothing was registered under the wrong hash.
        again = await http.post("/graphql", json={"extensions": other})
        assert again.json()["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"


async def test_only_signed_in_callers_register_documents(server, admin_token):
    query = "{ __schema { queryType { name } } }"  # what an anonymous caller may run
    persisted = {
        "persistedQuery": {"version": 1, "sha256Hash": hashlib.sha256(query.encode()).hexdigest()}
    }
    async with httpx.AsyncClient(base_url=server.url) as http:
        ran = await http.post("/graphql", json={"query": query, "extensions": persisted})
        assert ran.json()["data"]["__schema"]["queryType"]["name"] == "Query"
        unknown = await http.post("/graphql", json={"extensions": persisted})
        assert unknown.json()["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"
