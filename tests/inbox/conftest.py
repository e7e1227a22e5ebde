"""A help desk: one number on the Evolution stand-in, two agents who are its members, an
outsider agent who is not, and a customer who writes through the real webhook."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import asyncpg
import pytest

from services.identity.auth import mint_token
from services.platform.crypto import Vault
from tests.helpers import (
    JWT_SECRET,
    GraphQLClient,
    ServerHandle,
    load_payload,
    make_conversation,
    post_webhook,
    wait_for,
)
from tests.standin.evolution import EvolutionStandIn

CUSTOMER = "5511999990002"  # the sender of the stored Evolution payloads


@dataclass
class Desk:
    gql: GraphQLClient
    instance: dict[str, Any]
    contact: dict[str, Any]
    secret: str
    agent1_id: uuid.UUID
    agent2_id: uuid.UUID
    agent1: str
    agent2: str
    outsider: str
    admin: str
    pg: Any
    _messages: int = 0

    @property
    def instance_id(self) -> str:
        return str(self.instance["id"])

    @property
    def contact_id(self) -> str:
        return str(self.contact["id"])

    async def customer_writes(
        self, text: str = "Oi, preciso de ajuda", at: datetime | None = None
    ) -> str:
        """An incoming message through the webhook, sent `at` (now: WhatsApp's whole second);
        waits until it is stored."""
        self._messages += 1
        message_id = f"IN-{self._messages}-{uuid.uuid4().hex[:8]}"
        payload = load_payload("messages_upsert_text", token="TOKEN-acme-support")
        payload["data"]["key"]["id"] = message_id
        payload["data"]["message"] = {"conversation": text}
        payload["data"]["messageTimestamp"] = int((at or datetime.now(UTC)).timestamp())
        response = await post_webhook(self.gql.http, payload, self.secret)
        assert response.status_code == 200, response.text

        async def stored() -> bool:
            return bool(
                await self.pg.fetchval(
                    "SELECT EXISTS (SELECT 1 FROM whatsapp_messages WHERE message_id = $1)",
                    message_id,
                )
            )

        await wait_for(stored)
        return message_id

    async def reply(self, token: str, text: str = "Olá! Já vou ver.") -> dict[str, Any]:
        data = await self.gql(
            """mutation($input: SendMessageInput!) {
                 sendMessage(input: $input) { id status fromMe sentBy { id } } }""",
            {
                "input": {
                    "instanceId": self.instance_id,
                    "contactId": self.contact_id,
                    "textContent": text,
                }
            },
            token=token,
        )
        return data["sendMessage"]  # type: ignore[no-any-return]

    async def contact_state(self, token: str | None = None) -> dict[str, Any]:
        data = await self.gql(
            """query($id: ID!) { contact(id: $id) {
                 id status openedAt firstResponseAt resolvedAt labels unreadCount
                 assignee { id } lastMessage { id messageType } } }""",
            {"id": self.contact_id},
            token=token or self.admin,
        )
        return data["contact"]  # type: ignore[no-any-return]


@pytest.fixture
async def desk(
    server: ServerHandle,
    gql: GraphQLClient,
    pg: asyncpg.Connection,
    vault: Vault,
    evolution: EvolutionStandIn,
    admin_token: str,
) -> Desk:
    instance, contact = await make_conversation(pg, vault, evolution, gql, number=CUSTOMER)
    agent1_id, agent2_id = uuid.uuid4(), uuid.uuid4()
    for profile_id, name in ((agent1_id, "Bia Agente"), (agent2_id, "Caio Agente")):
        await pg.execute(
            "INSERT INTO profiles (id, role, full_name) VALUES ($1, 'agent', $2)",
            profile_id,
            name,
        )
        await pg.execute(
            "INSERT INTO whatsapp_instance_members (instance_id, profile_id) VALUES ($1, $2)",
            instance["id"],
            profile_id,
        )
    return Desk(
        gql=gql,
        instance=instance,
        contact=contact,
        secret=vault.webhook_secret("acme-support"),
        agent1_id=agent1_id,
        agent2_id=agent2_id,
        agent1=mint_token(JWT_SECRET, sub=agent1_id, role="agent", name="Bia Agente"),
        agent2=mint_token(JWT_SECRET, sub=agent2_id, role="agent", name="Caio Agente"),
        outsider=mint_token(JWT_SECRET, sub=uuid.uuid4(), role="agent", name="Fora"),
        admin=admin_token,
        pg=pg,
    )
