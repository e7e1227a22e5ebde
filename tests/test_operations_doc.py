"""docs/operations.graphql, the front end's operations, against a real server: the document is
valid for the schema the server serves, and every operation in it runs with realistic variables
(queries and mutations over HTTP, uploads as GraphQL multipart, subscriptions over a
graphql-transport-ws websocket until their first event). Mutations that call Evolution API go
to the stand-in."""

from __future__ import annotations

import asyncio
import inspect
import io
import json
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from graphql import (
    DocumentNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    OperationDefinitionNode,
    parse,
    print_ast,
    validate,
    visit,
)
from graphql.language import Visitor
from starlette.datastructures import Headers, UploadFile
from starlette.requests import Request
from starlette.responses import Response

import resolvers.clients
from resolvers.context import Context
from resolvers.view import GraphQLView
from schema.root import build_schema, schema
from services.instances.lifecycle import WEBHOOK_EVENTS
from tests.helpers import (
    GraphQLError,
    Subscription,
    create_instance_row,
    load_payload,
    post_webhook,
    wait_for,
)
from tests.media_samples import jpeg, voice_note_ogg
from tests.standin.evolution import WebhookConfig

DOC_PATH = Path(__file__).resolve().parent.parent / "docs" / "operations.graphql"
DOCUMENT = parse(DOC_PATH.read_text())
OPERATIONS = {
    op.name.value: op
    for op in DOCUMENT.definitions
    if isinstance(op, OperationDefinitionNode) and op.name
}
FRAGMENTS = {f.name.value: f for f in DOCUMENT.definitions if isinstance(f, FragmentDefinitionNode)}
TOKEN = "7A1F3C2E-9B4D-4E8F-A1C2-3D4E5F6A7B8C"
NUMBER = "5511999990002"  # Maria, who writes in messages_upsert_text


def operation_source(name: str) -> str:
    """One operation with the fragments it uses, as a client sends it."""
    needed: list[str] = []

    class Spreads(Visitor):
        def enter_fragment_spread(self, node: FragmentSpreadNode, *_: Any) -> None:
            if node.name.value not in needed:
                needed.append(node.name.value)
                visit(FRAGMENTS[node.name.value], self)

    visit(OPERATIONS[name], Spreads())
    return print_ast(DocumentNode(definitions=(OPERATIONS[name], *(FRAGMENTS[n] for n in needed))))


@dataclass
class Upload:
    filename: str
    content: bytes
    content_type: str


@dataclass
class World:
    """An instance connected here and on the stand-in, Maria's contact with her first message
    (through the webhook), a quick message, a client and an agent's profile."""

    server: Any
    gql: Any
    pg: Any
    vault: Any
    evolution: Any
    admin_token: str
    agent_id: uuid.UUID
    instance_id: str = ""
    contact_id: str = ""
    message_id: str = ""
    quick_message_id: str = ""
    client_id: str = ""

    async def run(self, name: str, variables: dict[str, Any]) -> dict[str, Any]:
        """A query or mutation of the document over HTTP; uploads go as GraphQL multipart."""
        source = operation_source(name)
        uploads = {path: value for path, value in _flatten(variables) if isinstance(value, Upload)}
        headers = {"Authorization": f"Bearer {self.admin_token}"}
        if not uploads:
            response = await self.gql.http.post(
                "/graphql",
                headers=headers,
                json={"query": source, "operationName": name, "variables": variables},
            )
        else:
            plain = json.loads(json.dumps(variables, default=lambda _: None))
            files = {
                str(i): (u.filename, u.content, u.content_type)
                for i, u in enumerate(uploads.values())
            }
            mapping = {str(i): [f"variables.{path}"] for i, path in enumerate(uploads)}
            response = await self.gql.http.post(
                "/graphql",
                headers=headers,
                files=files,
                data={
                    "operations": json.dumps(
                        {"query": source, "operationName": name, "variables": plain}
                    ),
                    "map": json.dumps(mapping),
                },
            )
        assert response.status_code == 200, response.text
        body = response.json()
        if body.get("errors"):
            raise GraphQLError(body["errors"])
        return body["data"]  # type: ignore[no-any-return]

    async def settled(self, message_id: str) -> str:
        """Wait until the outbox has sent (or failed) a message; its status."""

        async def status() -> str | None:
            value = await self.pg.fetchval(
                "SELECT status FROM whatsapp_messages WHERE id = $1", uuid.UUID(message_id)
            )
            return value if value != "pending" else None

        return await wait_for(status, timeout=20)  # type: ignore[no-any-return]


def _flatten(value: Any, prefix: str = "") -> list[tuple[str, Any]]:
    if isinstance(value, dict):
        return [
            item
            for key, inner in value.items()
            for item in _flatten(inner, f"{prefix}.{key}" if prefix else key)
        ]
    return [(prefix, value)]


@pytest.fixture
async def world(server, gql, pg, vault, evolution, admin_token, agent_token, agent_id):
    w = World(server, gql, pg, vault, evolution, admin_token, agent_id)
    evolution.add_instance("acme-support", token=TOKEN, state="open")
    instance = await create_instance_row(pg, vault, name="acme-support", token=TOKEN)
    w.instance_id = str(instance["id"])
    response = await post_webhook(
        gql.http, load_payload("messages_upsert_text"), vault.webhook_secret("acme-support")
    )
    assert response.status_code == 200
    message = await wait_for(
        lambda: pg.fetchrow("SELECT id, contact_id FROM whatsapp_messages"), timeout=10
    )
    w.message_id, w.contact_id = str(message["id"]), str(message["contact_id"])
    w.quick_message_id = (
        await gql(
            'mutation { createQuickMessage(input: {shortcut: "prazo", messageText: '
            '"{saudacao}, {primeiro_nome}! Entregamos em 2 dias úteis."}) { id } }'
        )
    )["createQuickMessage"]["id"]
    w.client_id = str(
        await pg.fetchval(
            "INSERT INTO clients (name, phone, email, document) VALUES "
            "('Maria Souza Comércio', '(21) 3333-4444', 'maria@example.com', '12.345.678/0001-95') "
            "RETURNING id"
        )
    )
    await gql("{ viewer { id } }", token=agent_token)  # the agent's profile exists from now on
    return w


async def new_disconnected_instance(w: World) -> str:
    data = await w.gql('mutation { createInstance(input: {displayName: "Vendas"}) { id } }')
    return data["createInstance"]["id"]  # type: ignore[no-any-return]


async def failed_message(w: World) -> str:
    """A text Evolution refused (not on WhatsApp), for RetryMessage; the number works again
    afterwards."""
    w.evolution.not_on_whatsapp(NUMBER)
    sent = await w.gql(
        """mutation($i: ID!, $c: ID!) { sendMessage(input: {instanceId: $i,
        contactId: $c, textContent: "Seu pedido saiu."}) { id } }""",
        {"i": w.instance_id, "c": w.contact_id},
    )
    message_id: str = sent["sendMessage"]["id"]
    assert await w.settled(message_id) == "failed"
    w.evolution.on_whatsapp_again()
    return message_id


async def member_added(w: World) -> dict[str, Any]:
    await w.gql(
        "mutation($i: ID!, $p: ID!) { addInstanceMember(instanceId: $i, profileId: $p) { id } }",
        {"i": w.instance_id, "p": str(w.agent_id)},
    )
    return {"instanceId": w.instance_id, "profileId": str(w.agent_id)}


async def _assigned(w: World) -> dict[str, Any]:
    await member_added(w)
    return {"contactId": w.contact_id, "profileId": str(w.agent_id)}


async def _labelled(w: World) -> dict[str, Any]:
    await w.gql(
        'mutation($c: ID!) { setContactLabels(contactId: $c, labels: ["Boleto"]) { id } }',
        {"c": w.contact_id},
    )
    return {"instanceId": w.instance_id, "prefix": "bol"}


async def _v(value: dict[str, Any]) -> dict[str, Any]:
    return value


Recipe = Callable[[World], Awaitable[dict[str, Any]]]
# Each operation's variables, as a screen would have them (arranging what it needs first).
RECIPES: dict[str, Recipe] = {
    "Viewer": lambda w: _v({}),
    "Instances": lambda w: _v({}),
    "Instance": lambda w: _v({"id": w.instance_id}),
    "CreateInstance": lambda w: _v({"displayName": "Atendimento Avaliatec"}),
    "ConnectInstance": lambda w: _connect(w),
    "DisconnectInstance": lambda w: _v({"id": w.instance_id}),
    "RenameInstance": lambda w: _v({"id": w.instance_id, "displayName": "Suporte Acme"}),
    "DeleteInstance": lambda w: _v({"id": w.instance_id}),
    "InstanceEvents": lambda w: _v({"instanceId": w.instance_id}),
    "Contacts": lambda w: _v(
        {
            "instanceId": w.instance_id,
            "search": "maria",
            "first": 20,
            "status": "OPEN",
            "assignee": "UNASSIGNED",
        }
    ),
    "ContactEvents": lambda w: _v({"instanceId": w.instance_id, "afterSeq": "0"}),
    "Messages": lambda w: _v({"contactId": w.contact_id, "first": 30}),
    "MessageEvents": lambda w: _v(
        {"instanceId": w.instance_id, "contactId": w.contact_id, "afterSeq": "0"}
    ),
    "SearchMessages": lambda w: _v(
        {"instanceId": w.instance_id, "query": "pedidos atrasados OR chegou", "first": 10}
    ),
    "PresenceEvents": lambda w: _v({"instanceId": w.instance_id, "contactId": w.contact_id}),
    "MarkContactRead": lambda w: _v({"contactId": w.contact_id}),
    "SendText": lambda w: _v(
        {
            "instanceId": w.instance_id,
            "contactId": w.contact_id,
            "textContent": "Bom dia, Maria! Vou verificar o pedido 4821.",
            "quotedMessageId": w.message_id,
            "idempotencyKey": str(uuid.uuid4()),
        }
    ),
    "SendAudio": lambda w: _v(
        {
            "instanceId": w.instance_id,
            "contactId": w.contact_id,
            "audio": Upload("gravacao.ogg", voice_note_ogg(), "audio/ogg"),
            "idempotencyKey": str(uuid.uuid4()),
        }
    ),
    "SendMedia": lambda w: _v(
        {
            "instanceId": w.instance_id,
            "contactId": w.contact_id,
            "messageType": "IMAGE",
            "media": Upload("comprovante.jpg", jpeg(), "image/jpeg"),
            "caption": "Comprovante de envio",
            "idempotencyKey": str(uuid.uuid4()),
        }
    ),
    "RetryMessage": lambda w: _retry(w),
    "SendPresence": lambda w: _v({"contactId": w.contact_id, "presence": "COMPOSING"}),
    "Availability": lambda w: _v({"instanceId": w.instance_id}),
    "ContactPanel": lambda w: _v({"id": w.contact_id}),
    "UpdateContact": lambda w: _v(
        {
            "id": w.contact_id,
            "input": {
                "contactType": "CLIENTE",
                "clientId": w.client_id,
                "name": "Maria (loja Centro)",
            },
        }
    ),
    "Clients": lambda w: _v({"search": "maria", "first": 10}),
    "CreateClientFromContact": lambda w: _v(
        {
            "contactId": w.contact_id,
            "input": {"email": "maria.souza@example.com", "document": "123.456.789-09"},
        }
    ),
    "InstanceSettings": lambda w: _v({"instanceId": w.instance_id}),
    "UpdateInstanceSettings": lambda w: _v(
        {
            "instanceId": w.instance_id,
            "input": {
                "rejectCalls": True,
                "rejectCallMessage": "Não atendemos ligações; mande mensagem.",
                "autoReplyEnabled": True,
                "autoReplyMessage": "{saudacao}! Atendemos de segunda a sexta, das 8h às 18h.",
                "availabilitySchedule": {
                    day: {"enabled": True, "start": "08:00", "end": "18:00"}
                    for day in ("monday", "tuesday", "wednesday", "thursday", "friday")
                },
                "timezone": "America/Sao_Paulo",
            },
        }
    ),
    "AddInstanceMember": lambda w: _v({"instanceId": w.instance_id, "profileId": str(w.agent_id)}),
    "RemoveInstanceMember": member_added,
    "QuickMessages": lambda w: _v({"search": "pra"}),
    "RenderQuickMessage": lambda w: _v({"shortcut": "prazo", "contactId": w.contact_id}),
    "SendQuickMessage": lambda w: _v(
        {
            "instanceId": w.instance_id,
            "contactId": w.contact_id,
            "shortcut": "prazo",
            "idempotencyKey": str(uuid.uuid4()),
        }
    ),
    "CreateQuickMessage": lambda w: _v(
        {
            "input": {
                "shortcut": "pix",
                "messageText": "Nossa chave Pix é o CNPJ 12.345.678/0001-95.",
                "description": "Dados para pagamento",
            }
        }
    ),
    "UpdateQuickMessage": lambda w: _v(
        {
            "id": w.quick_message_id,
            "input": {"messageText": "{saudacao}, {primeiro_nome}! Entregamos em 3 dias úteis."},
        }
    ),
    "DeleteQuickMessage": lambda w: _v({"id": w.quick_message_id}),
    "Node": lambda w: _v({"id": w.contact_id}),
    "Nodes": lambda w: _v(
        {
            "ids": [
                w.contact_id,
                w.message_id,
                w.instance_id,
                w.client_id,
                str(w.agent_id),
                w.quick_message_id,
                str(uuid.uuid4()),
            ]
        }
    ),
    "ExportContactData": lambda w: _v({"contactId": w.contact_id}),
    "EraseContact": lambda w: _v(
        {"contactId": w.contact_id, "reason": "Pedido da titular por e-mail (LGPD art. 18)"}
    ),
    "Profiles": member_added,
    "AssignContact": _assigned,
    "SetContactStatus": lambda w: _v({"contactId": w.contact_id, "status": "RESOLVED"}),
    "AddNote": lambda w: _v({"contactId": w.contact_id, "text": "Cliente VIP"}),
    "SetContactLabels": lambda w: _v({"contactId": w.contact_id, "labels": [" VIP ", "vip"]}),
    "Labels": _labelled,
    "Report": lambda w: _v(
        {
            "instanceId": w.instance_id,
            "from": "2020-01-01T00:00:00-03:00",
            "to": "2100-01-01T00:00:00Z",
        }
    ),
}


async def _connect(w: World) -> dict[str, Any]:
    return {"id": await new_disconnected_instance(w), "phoneNumber": None}


async def _retry(w: World) -> dict[str, Any]:
    return {"id": await failed_message(w)}


# What each operation must show for the screen to work, beyond "no errors".
CHECKS: dict[str, Callable[[World, dict[str, Any]], None]] = {
    "Viewer": lambda w, d: _eq(d["viewer"]["role"], "ADMIN"),
    "Instances": lambda w, d: _eq([i["id"] for i in d["instances"]], [w.instance_id]),
    "ConnectInstance": lambda w, d: _eq(d["connectInstance"]["status"], "QR_CODE"),
    "DisconnectInstance": lambda w, d: _eq(d["disconnectInstance"]["status"], "DISCONNECTED"),
    "DeleteInstance": lambda w, d: _eq(d["deleteInstance"], w.instance_id),
    # Keyed by a normalised cache: its id is the number's.
    "InstanceSettings": lambda w, d: _eq(
        (d["instanceSettings"]["id"], d["instanceSettings"]["instanceId"]),
        (w.instance_id, w.instance_id),
    ),
    "Contacts": lambda w, d: _eq([e["node"]["id"] for e in d["contacts"]["edges"]], [w.contact_id]),
    "Messages": lambda w, d: _eq([e["node"]["id"] for e in d["messages"]["edges"]], [w.message_id]),
    "SearchMessages": lambda w, d: _eq(
        [(e["node"]["id"], e["node"]["contact"]["id"]) for e in d["searchMessages"]["edges"]],
        [(w.message_id, w.contact_id)],
    ),
    "MarkContactRead": lambda w, d: _eq(d["markContactRead"]["unreadCount"], 0),
    "SendPresence": lambda w, d: _eq(d["sendPresence"], True),
    "ContactPanel": lambda w, d: _eq(d["contact"]["interactions"]["incomingCount"], 1),
    "UpdateContact": lambda w, d: _eq(d["updateContact"]["client"]["id"], w.client_id),
    "Profiles": lambda w, d: _eq([p["id"] for p in d["profiles"]], [str(w.agent_id)]),
    "AssignContact": lambda w, d: _eq(d["assignContact"]["assignee"]["id"], str(w.agent_id)),
    "SetContactStatus": lambda w, d: _eq(d["setContactStatus"]["status"], "RESOLVED"),
    "Report": lambda w, d: _eq(
        (d["report"]["conversations"], d["report"]["messagesReceived"]), (1, 1)
    ),
    "SetContactLabels": lambda w, d: _eq(d["setContactLabels"]["labels"], ["VIP"]),
    "Labels": lambda w, d: _eq(d["labels"], [{"label": "Boleto", "count": 1}]),
    "AddNote": lambda w, d: _eq(
        (d["addNote"]["messageType"], d["addNote"]["fromMe"], d["addNote"]["status"]),
        ("NOTE", True, "SENT"),
    ),
    "Clients": lambda w, d: _eq([e["node"]["id"] for e in d["clients"]["edges"]], [w.client_id]),
    "RenderQuickMessage": lambda w, d: _eq(
        "Maria! Entregamos em 2 dias úteis." in d["renderQuickMessage"], True
    ),
    "QuickMessages": lambda w, d: _eq([q["shortcut"] for q in d["quickMessages"]], ["prazo"]),
    "AddInstanceMember": lambda w, d: _eq(
        str(w.agent_id) in [m["id"] for m in d["addInstanceMember"]["members"]], True
    ),
    "RemoveInstanceMember": lambda w, d: _eq(
        str(w.agent_id) in [m["id"] for m in d["removeInstanceMember"]["members"]], False
    ),
    "Node": lambda w, d: _eq((d["node"]["__typename"], d["node"]["id"]), ("Contact", w.contact_id)),
    "Nodes": lambda w, d: _eq(
        [n and (n["__typename"], n["id"]) for n in d["nodes"]],
        [
            ("Contact", w.contact_id),
            ("Message", w.message_id),
            ("Instance", w.instance_id),
            ("Client", w.client_id),
            ("Profile", str(w.agent_id)),
            ("QuickMessage", w.quick_message_id),
            None,
        ],
    ),
    "EraseContact": lambda w, d: _eq(d["eraseContact"], w.contact_id),
    "ExportContactData": lambda w, d: _eq(
        f"/exports/{w.contact_id}?exp=" in d["exportContactData"]["url"], True
    ),
}
SENDS = {"SendText", "SendAudio", "SendMedia", "SendQuickMessage", "RetryMessage"}


def _eq(actual: Any, expected: Any) -> None:
    assert actual == expected, (actual, expected)


def test_the_document_is_valid_for_the_servers_schema():
    errors = validate(schema._schema, DOCUMENT)
    assert not errors, [e.message for e in errors]
    unnamed = [
        d for d in DOCUMENT.definitions if isinstance(d, OperationDefinitionNode) and not d.name
    ]
    assert not unnamed, "every operation in docs/operations.graphql needs a name"


def test_every_operation_has_variables_here():
    assert set(OPERATIONS) == set(RECIPES), (
        "add a recipe for each new operation of docs/operations.graphql (and drop removed ones)"
    )


QUERIES_AND_MUTATIONS = sorted(
    n for n, op in OPERATIONS.items() if op.operation.value != "subscription"
)
SUBSCRIPTIONS = sorted(n for n, op in OPERATIONS.items() if op.operation.value == "subscription")


@pytest.mark.parametrize("name", QUERIES_AND_MUTATIONS)
async def test_operation_runs(world, name):
    variables = await RECIPES[name](world)
    data = await world.run(name, variables)
    assert data and all(value is not None for value in data.values()), data
    if name in CHECKS:
        CHECKS[name](world, data)
    if name in SENDS:
        message = next(iter(data.values()))
        assert message["status"] == "PENDING" and message["fromMe"] is True
        assert await world.settled(message["id"]) == "sent"


async def _trigger(w: World, name: str) -> None:
    """Something that makes the subscription deliver an event."""
    if name == "InstanceEvents":
        await wait_for(lambda: w.server.runtime.bus.subscriber_count > 0)
        await w.gql(
            "mutation($id: ID!) { updateInstance(id: $id, input: {displayName: "
            '"Suporte"}) { id } }',
            {"id": w.instance_id},
        )
    if name == "PresenceEvents":
        # Opening the chat subscribed it to Maria's presence on Evolution; she types.
        await wait_for(lambda: w.evolution.requests_to("/chat/sendPresence/acme-support"))
        await wait_for(lambda: w.server.runtime.bus.subscriber_count > 0)
        w.evolution.instances["acme-support"].webhook = WebhookConfig(
            url=f"{w.server.url}/api/webhooks/evolution/i/acme-support",
            headers={"x-atendimento-secret": w.vault.webhook_secret("acme-support")},
            events=list(WEBHOOK_EVENTS),
        )
        jid = f"{NUMBER}@s.whatsapp.net"
        assert await w.evolution.emit_presence("acme-support", jid, "composing") == 200
    # MessageEvents and ContactEvents resume with afterSeq "0": Maria's first message is there.


@pytest.mark.parametrize("name", SUBSCRIPTIONS)
async def test_subscription_starts_and_delivers(world, name):
    async with Subscription.connect(world.server.ws_url, world.admin_token) as ws:
        await ws.ws.send(
            json.dumps(
                {
                    "id": "1",
                    "type": "subscribe",
                    "payload": {
                        "query": operation_source(name),
                        "operationName": name,
                        "variables": await RECIPES[name](world),
                    },
                }
            )
        )
        await _trigger(world, name)
        data = await ws.next_data()
    [event] = data.values()
    if name == "PresenceEvents":
        assert (event["contactId"], event["presence"]) == (world.contact_id, "COMPOSING")
        return
    assert event["kind"] in {"CREATED", "UPDATED"}, event
    if name == "InstanceEvents":
        assert event["instance"]["displayName"] == "Suporte"
    elif name == "MessageEvents":
        assert event["message"]["id"] == world.message_id and event["seq"]
    else:
        assert event["contact"]["id"] == world.contact_id and event["seq"]


# The same operations through both executors, in process on the server's runtime: data and
# errors must be equal, byte for byte (the short path of schema/executor.py against
# Strawberry's own). A mutation runs once: its root fields' values, resolved by the stock
# executor, are replayed to the short one, which completes them over its own path.


def _fresh_schemas() -> tuple[Any, Any]:
    # Not build_schema's cached ones: their mutation resolvers are wrapped here.
    return build_schema.__wrapped__(True, "stock"), build_schema.__wrapped__(True, "short")


def _record_and_replay(stock: Any, short: Any) -> None:
    recorded: dict[str, Any] = {}
    for name, field in stock._schema.mutation_type.fields.items():
        field.resolve = _recording(field.resolve, recorded)
        short._schema.mutation_type.fields[name].resolve = lambda _source, info, **_args: recorded[
            info.path.key
        ]


def _recording(resolve: Any, recorded: dict[str, Any]) -> Any:
    def record(source: Any, info: Any, **args: Any) -> Any:
        result = resolve(source, info, **args)
        if not inspect.isawaitable(result):
            recorded[info.path.key] = result
            return result

        async def awaited() -> Any:
            recorded[info.path.key] = value = await result
            return value

        return awaited()

    return record


async def _context(w: World) -> Context:
    view = GraphQLView(w.server.runtime, schema=schema)
    request = Request(
        {
            "type": "http",
            "method": "POST",
            "path": "/graphql",
            "root_path": "",
            "scheme": "http",
            "query_string": b"",
            "server": ("127.0.0.1", 80),
            "headers": [(b"authorization", f"Bearer {w.admin_token}".encode())],
        }
    )
    return await view.get_context(request, Response())


def _in_process(value: Any) -> Any:
    if isinstance(value, Upload):
        return UploadFile(
            io.BytesIO(value.content),
            filename=value.filename,
            headers=Headers({"content-type": value.content_type}),
        )
    if isinstance(value, dict):
        return {key: _in_process(inner) for key, inner in value.items()}
    return value


def _answer(result: Any) -> str:
    errors = [error.formatted for error in result.errors or []]
    return json.dumps({"data": result.data, "errors": errors}, default=str)


class _Frozen(datetime):
    """The clock of availability (nextAvailableAt is counted from now), stopped: both
    executions must see the same instant."""

    @classmethod
    def now(cls, tz: Any = None) -> Any:
        return datetime(2026, 3, 4, 12, 0, tzinfo=UTC).astimezone(tz)


@pytest.mark.parametrize("name", QUERIES_AND_MUTATIONS)
async def test_operation_answers_alike_with_both_executors(world, name, monkeypatch):
    monkeypatch.setattr(resolvers.clients, "datetime", _Frozen)
    stock, short = _fresh_schemas()
    _record_and_replay(stock, short)
    variables = await RECIPES[name](world)
    answers = []
    for executor in (stock, short):
        result = await executor.execute(
            operation_source(name),
            operation_name=name,
            variable_values=_in_process(variables),
            context_value=await _context(world),
        )
        answers.append(_answer(result))
    assert not json.loads(answers[0])["errors"], answers[0]
    assert answers[1] == answers[0]


@pytest.mark.parametrize("name", SUBSCRIPTIONS)
async def test_subscription_answers_alike_with_both_executors(world, name):
    stock, short = _fresh_schemas()
    variables = await RECIPES[name](world)
    streams = [
        await executor.subscribe(
            operation_source(name),
            operation_name=name,
            variable_values=variables,
            context_value=await _context(world),
        )
        for executor in (stock, short)
    ]
    first = [asyncio.ensure_future(anext(stream)) for stream in streams]
    if name == "InstanceEvents":
        await wait_for(lambda: world.server.runtime.bus.subscriber_count >= 2)
    await _trigger(world, name)
    stock_event, short_event = await asyncio.gather(*first)
    for stream in streams:
        await stream.aclose()
    assert stock_event.data and not stock_event.errors, stock_event
    assert _answer(short_event) == _answer(stock_event)
