"""searchMessages: full-text search over a number's messages (Portuguese stemming, accents
ignored), newest first in stable pages, only on numbers the viewer may see, deleted messages
left out, each hit linked to its contact; bad queries refused cleanly; the GIN index used."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from db.search import SEARCH_MESSAGES
from db.sql import fetch_all_planned_with_values
from services.errors import BadInput
from services.messaging.search import search_text
from tests.helpers import GraphQLClient, create_instance_row

T0 = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)

SEARCH = """
query($instanceId: ID!, $query: String!, $first: Int, $after: String) {
  searchMessages(instanceId: $instanceId, query: $query, first: $first, after: $after) {
    edges { cursor node { id textContent deleted contactId contact { id name phoneNumber } } }
    pageInfo { hasNextPage hasPreviousPage endCursor }
  }
}"""


class Chats:
    """Numbers, contacts and messages written straight into the tables."""

    def __init__(self, pg: Any, vault: Any) -> None:
        self.pg, self.vault = pg, vault

    async def instance(self, name: str, members: list[uuid.UUID] | None = None) -> uuid.UUID:
        row = await create_instance_row(
            self.pg, self.vault, name=name, token=f"T-{name}", members=members or []
        )
        return row["id"]  # type: ignore[no-any-return]

    async def contact(self, instance_id: uuid.UUID, name: str, phone: str) -> uuid.UUID:
        return await self.pg.fetchval(  # type: ignore[no-any-return]
            "INSERT INTO whatsapp_contacts (instance_id, remote_jid, phone_number, name) "
            "VALUES ($1, $2, $3, $4) RETURNING id",
            instance_id,
            f"{phone}@s.whatsapp.net",
            phone,
            name,
        )

    async def message(
        self,
        instance_id: uuid.UUID,
        contact_id: uuid.UUID,
        text: str | None,
        at: datetime,
        *,
        deleted: bool = False,
        message_type: str = "text",
    ) -> str:
        value = await self.pg.fetchval(
            "INSERT INTO whatsapp_messages (instance_id, contact_id, message_id, remote_jid, "
            "message_type, text_content, status, timestamp, deleted_at) "
            "VALUES ($1, $2, $3, 'x@s.whatsapp.net', $4, $5, 'delivered', $6, $7) RETURNING id",
            instance_id,
            contact_id,
            uuid.uuid4().hex,
            message_type,
            text,
            at,
            at if deleted else None,
        )
        return str(value)


async def search(
    gql: GraphQLClient, instance_id: uuid.UUID | str, query: str, **variables: Any
) -> dict[str, Any]:
    data = await gql(
        SEARCH, {"instanceId": str(instance_id), "query": query, **variables}, **_token(variables)
    )
    return data["searchMessages"]  # type: ignore[no-any-return]


def _token(variables: dict[str, Any]) -> dict[str, Any]:
    token = variables.pop("token", None)
    return {"token": token} if token else {}


def texts(page: dict[str, Any]) -> list[str]:
    return [edge["node"]["textContent"] for edge in page["edges"]]


@pytest.fixture
async def support(pg, vault):
    """One number with two chats in Portuguese."""
    chats = Chats(pg, vault)
    instance = await chats.instance("acme-support")
    maria = await chats.contact(instance, "Maria Souza", "5511999990001")
    joao = await chats.contact(instance, "João Lima", "5521988887777")
    at = iter(T0 + timedelta(minutes=i) for i in range(100))
    ids = {
        "atencao": await chats.message(
            instance, maria, "Atenção: o pagamento foi confirmado", next(at)
        ),
        "pagamentos": await chats.message(
            instance, joao, "Os PAGAMENTOS de março estão atrasados", next(at)
        ),
        "reuniao": await chats.message(instance, maria, "Reunião amanhã às 10h", next(at)),
        "caption": await chats.message(
            instance, joao, "Comprovante do pagamento", next(at), message_type="image"
        ),
        "no_text": await chats.message(instance, joao, None, next(at), message_type="audio"),
        "deleted": await chats.message(
            instance, maria, "pagamento cancelado", next(at), deleted=True
        ),
    }
    return {"instance": instance, "maria": maria, "joao": joao, "ids": ids}


async def test_accents_case_and_word_endings_do_not_matter(gql, support):
    instance = support["instance"]
    assert texts(await search(gql, instance, "atencao")) == ["Atenção: o pagamento foi confirmado"]
    assert texts(await search(gql, instance, "ATENÇÃO")) == ["Atenção: o pagamento foi confirmado"]
    # "pagamento" finds "PAGAMENTOS" and the image's caption; newest first.
    assert texts(await search(gql, instance, "pagamento")) == [
        "Comprovante do pagamento",
        "Os PAGAMENTOS de março estão atrasados",
        "Atenção: o pagamento foi confirmado",
    ]
    assert texts(await search(gql, instance, "marco atrasado")) == [
        "Os PAGAMENTOS de março estão atrasados"
    ]
    assert texts(await search(gql, instance, "reuniao amanha")) == ["Reunião amanhã às 10h"]
    # Web-search syntax: a phrase, an excluded word, or.
    assert texts(await search(gql, instance, '"pagamento foi confirmado"')) == [
        "Atenção: o pagamento foi confirmado"
    ]
    assert texts(await search(gql, instance, "pagamento -comprovante -atrasados")) == [
        "Atenção: o pagamento foi confirmado"
    ]
    assert texts(await search(gql, instance, "reunião or comprovante")) == [
        "Comprovante do pagamento",
        "Reunião amanhã às 10h",
    ]
    assert texts(await search(gql, instance, "boleto")) == []


async def test_deleted_messages_are_not_found(gql, support, pg):
    page = await search(gql, support["instance"], "cancelado")
    assert page["edges"] == []
    # The same text not deleted is found: it is the deletion that hides it.
    await pg.execute(
        "UPDATE whatsapp_messages SET deleted_at = NULL WHERE id = $1",
        uuid.UUID(support["ids"]["deleted"]),
    )
    assert [
        e["node"]["id"] for e in (await search(gql, support["instance"], "cancelado"))["edges"]
    ] == [support["ids"]["deleted"]]


async def test_each_hit_links_to_its_contact(gql, support):
    page = await search(gql, support["instance"], "pagamento")
    links = [(e["node"]["contactId"], e["node"]["contact"]) for e in page["edges"]]
    joao = {"id": str(support["joao"]), "name": "João Lima", "phoneNumber": "5521988887777"}
    maria = {"id": str(support["maria"]), "name": "Maria Souza", "phoneNumber": "5511999990001"}
    assert links == [(joao["id"], joao), (joao["id"], joao), (maria["id"], maria)]


async def test_pages_are_newest_first_and_stable_while_messages_arrive(gql, support, pg, vault):
    chats = Chats(pg, vault)
    instance, maria = support["instance"], support["maria"]
    # Five matches in one WhatsApp second: their arrival order decides.
    burst = T0 + timedelta(hours=2)
    ids = [await chats.message(instance, maria, f"pedido número {n}", burst) for n in range(5)]
    first = await search(gql, instance, "pedidos", first=2)
    assert [e["node"]["id"] for e in first["edges"]] == [ids[4], ids[3]]
    assert first["pageInfo"]["hasNextPage"] is True
    assert first["pageInfo"]["hasPreviousPage"] is False
    # New matches arrive, newer and of the same second: the next page goes on where it was.
    await chats.message(instance, maria, "outro pedido", burst + timedelta(seconds=1))
    await chats.message(instance, maria, "mais um pedido", burst)
    second = await search(gql, instance, "pedidos", first=2, after=first["pageInfo"]["endCursor"])
    assert [e["node"]["id"] for e in second["edges"]] == [ids[2], ids[1]]
    assert second["pageInfo"]["hasPreviousPage"] is True
    third = await search(gql, instance, "pedidos", first=2, after=second["pageInfo"]["endCursor"])
    assert [e["node"]["id"] for e in third["edges"]] == [ids[0]]
    assert third["pageInfo"]["hasNextPage"] is False
    assert third["edges"][0]["cursor"] == third["pageInfo"]["endCursor"]


async def test_agents_search_only_their_numbers_admins_all(gql, pg, vault, agent_id, agent_token):
    chats = Chats(pg, vault)
    theirs = await chats.instance("suporte", members=[agent_id])
    other = await chats.instance("vendas")
    for instance in (theirs, other):
        contact = await chats.contact(instance, "Ana", "5511912345678")
        await chats.message(instance, contact, f"orçamento do número {instance}", T0)
    as_agent = await search(gql, theirs, "orcamento", token=agent_token)
    assert texts(as_agent) == [f"orçamento do número {theirs}"]  # never the other number's
    error = await gql.error(
        SEARCH, {"instanceId": str(other), "query": "orcamento"}, token=agent_token
    )
    assert error.codes == ["NOT_FOUND"]  # as if the number did not exist
    assert texts(await search(gql, other, "orcamento")) == [f"orçamento do número {other}"]
    # Removed from the number: nothing more.
    await pg.execute("DELETE FROM whatsapp_instance_members WHERE profile_id = $1", agent_id)
    error = await gql.error(
        SEARCH, {"instanceId": str(theirs), "query": "orcamento"}, token=agent_token
    )
    assert error.codes == ["NOT_FOUND"]


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("", "query must not be empty"),
        ("   \n\t ", "query must not be empty"),
        ("a" * 201, "query must be at most 200 characters"),
    ],
)
async def test_bad_queries_are_bad_user_input(gql, support, query, message):
    error = await gql.error(SEARCH, {"instanceId": str(support["instance"]), "query": query})
    assert error.codes == ["BAD_USER_INPUT"]
    assert error.errors[0]["message"] == message
    assert error.errors[0]["extensions"]["field"] == "query"


@pytest.mark.parametrize("query", ["pagamento\x00", "a\ud800"])
async def test_nul_and_lone_surrogates_are_bad_user_input(gql, support, query):
    # JSON can carry "\u0000" and "\ud800": PostgreSQL text holds neither.
    variables = {"instanceId": str(support["instance"]), "query": query}
    body = json.dumps({"query": SEARCH, "variables": variables})
    response = await gql.http.post(
        "/graphql",
        content=body,
        headers={"Authorization": f"Bearer {gql.token}", "content-type": "application/json"},
    )
    assert response.status_code == 200
    assert [e["extensions"]["code"] for e in response.json()["errors"]] == ["BAD_USER_INPUT"]


@pytest.mark.parametrize("query", ["pagamento\x00", "a\ud800"])
def test_the_service_refuses_nul_and_lone_surrogates_itself(query):
    # The API edge refuses such variables first; callers inside the process meet this check.
    with pytest.raises(BadInput) as refused:
        search_text(query)
    assert refused.value.field == "query"


@pytest.mark.parametrize(
    "query",
    [
        "de a o que",  # only stop words
        "!!! & | ( ) : * <-> \\",  # tsquery operators typed as text
        '"unbalanced',
        "-",
        "a" * 200,  # as long as allowed
        "😀🎉",
    ],
)
async def test_odd_queries_answer_an_empty_page(gql, support, query):
    page = await search(gql, support["instance"], query)
    assert page["edges"] == []
    assert page["pageInfo"]["hasNextPage"] is False


async def test_bad_cursor_and_page_size_are_bad_user_input(gql, support):
    for variables, field in (({"after": "not-a-cursor"}, "after"), ({"first": 0}, "first")):
        error = await gql.error(
            SEARCH, {"instanceId": str(support["instance"]), "query": "pagamento", **variables}
        )
        assert error.codes == ["BAD_USER_INPUT"]
        assert error.errors[0]["extensions"]["field"] == field


WORDS = (
    "bom dia gostaria de saber o prazo de entrega do meu pedido",
    "obrigado pelo atendimento até a próxima",
    "vocês abrem no sábado de manhã",
    "qual é o valor do frete para o interior",
    "preciso trocar o produto que veio com defeito",
)


async def test_search_uses_the_full_text_index(server, support, pg):
    instance, maria = support["instance"], support["maria"]
    # A few thousand messages of everyday talk, and a rare word in three of them.
    await pg.execute(
        "INSERT INTO whatsapp_messages (instance_id, contact_id, message_id, remote_jid, "
        "message_type, text_content, status, timestamp) "
        "SELECT $1, $2, 'bulk-' || n, 'x@s.whatsapp.net', 'text', "
        "($3::text[])[1 + n % 5] || CASE WHEN n % 1000 = 7 THEN ' reembolso' ELSE '' END, "
        "'delivered', $4::timestamptz + make_interval(secs => n) FROM generate_series(1, 5000) n",
        instance,
        maria,
        list(WORDS),
        T0,
    )
    await pg.execute("ANALYZE whatsapp_messages")
    params = {
        "instance_id": instance,
        "query": "reembolsos",
        "after_ts": None,
        "after_arrival": None,
        "limit": 51,
    }
    [row] = await fetch_all_planned_with_values(
        server.runtime.db, "EXPLAIN (FORMAT JSON) " + SEARCH_MESSAGES, **params
    )
    plan = json.loads(row[0]) if isinstance(row[0], str) else row[0]
    indexes = _indexes(plan[0]["Plan"])
    assert "idx_whatsapp_messages_search" in indexes, json.dumps(plan, indent=1)
    rows = await fetch_all_planned_with_values(server.runtime.db, SEARCH_MESSAGES, **params)
    assert len(rows) == 5  # n = 7, 1007, 2007, 3007, 4007
    assert [r["message_id"] for r in rows] == [f"bulk-{n}" for n in (4007, 3007, 2007, 1007, 7)]


def _indexes(node: dict[str, Any]) -> set[str]:
    found = {node["Index Name"]} if "Index Name" in node else set()
    for child in node.get("Plans", []):
        found |= _indexes(child)
    return found


async def test_the_search_functions_hold_under_any_search_path(pg):
    # PostgreSQL 17+ builds and vacuums indexes with search_path = pg_catalog; a session may
    # set any. The functions name everything by schema, so they answer the same.
    await pg.execute("SET search_path = pg_catalog, pg_temp")
    schema = await pg.fetchval(
        "SELECT n.nspname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
        "WHERE p.proname = 'atendimento_message_tsv'"
    )
    vector = await pg.fetchval(f'SELECT "{schema}".atendimento_message_tsv($1)::text', "Atenção")
    query = await pg.fetchval(f'SELECT "{schema}".atendimento_search_query($1)::text', "ATENCAO")
    assert vector == "'atenca':1" and query == "'atenca'"
    await pg.execute("REINDEX INDEX public.idx_whatsapp_messages_search")
