"""The bench database: dropped and created, migrated by the server's own command, then filled
with seeded data through COPY.

The data set (FULL sizes): one WhatsApp number with 20,000 contacts and 1,000,000 messages, one
of the contacts (the "hot" chat) holding 100,000 of them and the newest activity; 10% of the
other contacts are address-book entries without messages; the rest share the remaining messages
with a skewed (log-normal) spread. Contacts' `last_message_at` is the newest of their
messages. The bench admin has read marks: most chats read to the end, some partly, some never.
Everything comes from one `random.Random(SEED)`, with timestamps anchored to a fixed date, so
two runs produce the same rows.
"""

from __future__ import annotations

import asyncio
import os
import random
import subprocess
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from bench.common import ADMIN_ID, MAIN_INSTANCE, PYTHON, ROOT, SEED, Context, Sizes
from services.common.phones import phone_key
from services.platform.crypto import Vault

ANCHOR = datetime(2025, 11, 1, 12, 0, tzinfo=UTC)
FIRST_NAMES = (
    "Ana",
    "Bruno",
    "Carla",
    "Daniel",
    "Eduarda",
    "Felipe",
    "Gabriela",
    "Henrique",
    "Isabela",
    "João",
    "Karina",
    "Lucas",
    "Mariana",
    "Nicolas",
    "Olívia",
    "Pedro",
    "Quésia",
    "Rafael",
    "Sofia",
    "Thiago",
    "Ursula",
    "Vinícius",
    "Wesley",
    "Yasmin",
    "Zeca",
    "Beatriz",
    "Caio",
    "Débora",
    "Enzo",
    "Fernanda",
    "Gustavo",
    "Helena",
    "Igor",
    "Júlia",
    "Leonardo",
    "Manuela",
    "Otávio",
    "Priscila",
    "Renato",
    "Tatiana",
)
SURNAMES = (
    "Silva",
    "Santos",
    "Oliveira",
    "Souza",
    "Rodrigues",
    "Ferreira",
    "Alves",
    "Pereira",
    "Lima",
    "Gomes",
    "Costa",
    "Ribeiro",
    "Martins",
    "Carvalho",
    "Almeida",
    "Lopes",
    "Soares",
    "Fernandes",
    "Vieira",
    "Barbosa",
    "Rocha",
    "Dias",
    "Nascimento",
    "Andrade",
    "Moreira",
    "Nunes",
    "Marques",
    "Machado",
    "Mendes",
    "Freitas",
    "Cardoso",
    "Ramos",
    "Gonçalves",
    "Santana",
    "Teixeira",
    "Moura",
    "Cavalcanti",
    "Pinto",
    "Batista",
    "Leite",
)
DDDS = (11, 11, 11, 21, 21, 31, 41, 47, 48, 51, 61, 62, 71, 81, 85, 91, 92)
PHRASES = (
    "Oi, bom dia! Meu pedido {n} ainda não chegou.",
    "Obrigado pelo retorno!",
    "Qual o prazo de entrega para o CEP {n}?",
    "Pode me enviar o boleto atualizado?",
    "Segue o comprovante do pagamento.",
    "Tudo certo, aguardo o contato.",
    "Um momento, estou verificando e já retorno.",
    "Seu pedido {n} foi despachado hoje e chega em até 3 dias úteis.",
    "Bom dia! Como posso ajudar?",
    "Vocês abrem no sábado?",
    "Perfeito, muito obrigado pela atenção.",
    "Consegue me ligar depois das 14h?",
    "O laudo da avaliação {n} já está disponível no portal.",
    "Preciso remarcar a visita técnica, pode ser na quinta?",
)
TYPES = ("unknown", "lead", "cliente", "profissional", "prestador")
TYPE_WEIGHTS = (40, 25, 25, 5, 5)
MESSAGE_COLUMNS = (
    "id",
    "instance_id",
    "contact_id",
    "message_id",
    "remote_jid",
    "from_me",
    "message_type",
    "text_content",
    "media_url",
    "media_mime_type",
    "media_size",
    "media_filename",
    "media_seconds",
    "status",
    "timestamp",
    "created_at",
    "updated_at",
)
CONTACT_COLUMNS = (
    "id",
    "instance_id",
    "remote_jid",
    "phone_number",
    "phone_key",
    "name",
    "push_name",
    "contact_type",
    "last_message_at",
    "created_at",
    "updated_at",
)


def with_database(url: str, name: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path="/" + name))


def database_name(url: str) -> str:
    return urlsplit(url).path.lstrip("/")


async def recreate_database(admin_url: str, name: str) -> None:
    conn = await asyncpg.connect(admin_url)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()


async def drop_database(admin_url: str, name: str) -> None:
    conn = await asyncpg.connect(admin_url)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


def migrate(db_url: str, data_dir: str) -> None:
    """Apply the migrations with the server's own command."""
    env = {**os.environ, "DATABASE_URL": db_url, "DATA_DIR": data_dir, "LOG_LEVEL": "WARNING"}
    done = subprocess.run(
        [PYTHON, "server.py", "migrate"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    if done.returncode != 0:
        raise RuntimeError(f"server.py migrate failed:\n{done.stdout}\n{done.stderr}")


def vault(ctx: Context) -> Vault:
    from bench.common import WEBHOOK_SECRET

    return Vault(ctx.encryption_key, WEBHOOK_SECRET)


async def create_instance(
    conn: asyncpg.Connection, vault: Vault, name: str, token: str, status: str = "connected"
) -> uuid.UUID:
    """An instance stored directly, as tests/helpers.py `create_instance_row` does."""
    instance_id = await conn.fetchval(
        "INSERT INTO whatsapp_instances (instance_name, instance_token, display_name, status, "
        "phone_number) VALUES ($1, $2, $3, $4, $5) RETURNING id",
        name,
        vault.encrypt(token),
        name.replace("-", " ").title(),
        status,
        None,
    )
    await conn.execute(
        "INSERT INTO whatsapp_instance_settings (instance_id) VALUES ($1)", instance_id
    )
    await conn.execute(
        "INSERT INTO whatsapp_instance_members (instance_id, profile_id) "
        "VALUES ($1, $2) ON CONFLICT DO NOTHING",
        instance_id,
        ADMIN_ID,
    )
    return instance_id  # type: ignore[no-any-return]


def _uuid(rng: random.Random) -> uuid.UUID:
    return uuid.UUID(int=rng.getrandbits(128), version=4)


def make_contacts(rng: random.Random, n: int) -> list[dict[str, Any]]:
    seen: set[str] = set()
    contacts = []
    for i in range(n):
        while True:
            phone = f"55{rng.choice(DDDS)}9{rng.randrange(10**8):08d}"
            if phone not in seen:
                seen.add(phone)
                break
        first, last = rng.choice(FIRST_NAMES), rng.choice(SURNAMES)
        named = rng.random() < 0.85
        contacts.append(
            {
                "id": _uuid(rng),
                "phone": phone,
                "name": f"{first} {last}" if named else None,
                "push_name": f"{first} {last[0]}." if rng.random() < 0.95 else None,
                "type": rng.choices(TYPES, TYPE_WEIGHTS)[0],
                "created_at": ANCHOR - timedelta(days=400 + rng.random() * 300),
                "last": None,
                "last_in": None,
                "index": i,
            }
        )
    return contacts


def _message(
    rng: random.Random, seq: int, instance_id: uuid.UUID, contact: dict[str, Any], at: datetime
) -> tuple[Any, ...]:
    from_me = rng.random() < 0.45
    roll = rng.random()
    media_url = mime = filename = None
    size = seconds = None
    text: str | None
    if roll < 0.90:
        kind = "text"
        text = rng.choice(PHRASES).format(n=rng.randrange(1000, 99999))
    elif roll < 0.95:
        kind, text, mime, size = "image", None, "image/jpeg", rng.randrange(20_000, 900_000)
        media_url = f"/media/bench/{seq:08x}.jpg"
    elif roll < 0.98:
        kind, text, mime = "audio", None, "audio/ogg; codecs=opus"
        size, seconds = rng.randrange(5_000, 300_000), rng.randrange(2, 120)
        media_url = f"/media/bench/{seq:08x}.ogg"
    else:
        kind, text, mime = "document", "Segue o documento", "application/pdf"
        size, filename = rng.randrange(50_000, 3_000_000), f"documento-{seq}.pdf"
        media_url = f"/media/bench/{seq:08x}.pdf"
    if from_me:
        status = "read" if rng.random() < 0.7 else "delivered"
    else:
        status = "delivered"
        if contact["last_in"] is None or at > contact["last_in"]:
            contact["last_in"] = at
    if contact["last"] is None or at > contact["last"]:
        contact["last"] = at
    return (
        _uuid(rng),
        instance_id,
        contact["id"],
        f"BM{seq:09X}",
        f"{contact['phone']}@s.whatsapp.net",
        from_me,
        kind,
        text,
        media_url,
        mime,
        size,
        filename,
        seconds,
        status,
        at,
        at,
        at,
    )


def _messages(
    rng: random.Random, sizes: Sizes, instance_id: uuid.UUID, contacts: list[dict[str, Any]]
) -> list[tuple[Any, ...]]:
    hot = contacts[0]
    span = timedelta(days=365).total_seconds()
    rows: list[tuple[Any, ...]] = []
    step = span / sizes.hot_messages
    for i in range(sizes.hot_messages):
        at = ANCHOR - timedelta(seconds=span - i * step + 10)
        rows.append(_message(rng, len(rows), instance_id, hot, at))
    talking = [c for c in contacts[1:] if rng.random() >= 0.10]
    weights = [rng.lognormvariate(0, 1.2) for _ in talking]
    rest = sizes.messages_total - sizes.hot_messages
    for contact in rng.choices(talking, weights, k=rest):
        at = ANCHOR - timedelta(seconds=60 + rng.random() * span)
        rows.append(_message(rng, len(rows), instance_id, contact, at))
    # Stored in arrival order, as a live system writes them: one chat's rows are spread over
    # the table instead of packed together.
    rows.sort(key=lambda row: row[14])
    return rows


async def _copy_fast(
    conn: asyncpg.Connection,
    table: str,
    columns: tuple[str, ...],
    records: list[tuple[Any, ...]],
    chunk: int = 200_000,
) -> None:
    """COPY with the table's plain indexes dropped and rebuilt after (same definitions), which
    is several times faster than maintaining a dozen indexes row by row."""
    indexes = await conn.fetch(
        """
        SELECT i.indexname, i.indexdef FROM pg_indexes i
        WHERE i.schemaname = 'public' AND i.tablename = $1
          AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)
        """,
        table,
    )
    for index in indexes:
        await conn.execute(f'DROP INDEX "{index["indexname"]}"')
    for start in range(0, len(records), chunk):
        await conn.copy_records_to_table(
            table, records=records[start : start + chunk], columns=list(columns)
        )
    await conn.execute("SET maintenance_work_mem = '512MB'")
    for index in indexes:
        await conn.execute(index["indexdef"])


async def seed(ctx: Context) -> None:
    """Fill the bench database; records what the parts need in ctx.seeded."""
    sizes = ctx.sizes
    rng = random.Random(SEED)
    started = time.monotonic()
    conn = await asyncpg.connect(ctx.db_url)
    try:
        await conn.execute(
            "INSERT INTO profiles (id, role, full_name) VALUES ($1, 'admin', "
            "'Bench Admin') ON CONFLICT (id) DO NOTHING",
            ADMIN_ID,
        )
        main_id = await create_instance(conn, vault(ctx), MAIN_INSTANCE, "BENCH-MAIN-TOKEN")
        contacts = make_contacts(rng, sizes.contacts)
        messages = _messages(rng, sizes, main_id, contacts)
        generated = time.monotonic()
        await conn.copy_records_to_table(
            "whatsapp_contacts",
            columns=list(CONTACT_COLUMNS),
            records=[
                (
                    c["id"],
                    main_id,
                    f"{c['phone']}@s.whatsapp.net",
                    c["phone"],
                    phone_key(c["phone"]),
                    c["name"],
                    c["push_name"],
                    c["type"],
                    c["last"],
                    c["created_at"],
                    c["last"] or c["created_at"],
                )
                for c in contacts
            ],
        )
        await _copy_fast(conn, "whatsapp_messages", MESSAGE_COLUMNS, messages)
        reads = []
        for c in contacts:
            if c["last"] is None:
                continue
            roll = rng.random()
            if c["index"] == 0:  # the hot chat: read up to a day ago
                reads.append((ADMIN_ID, c["id"], ANCHOR - timedelta(days=1)))
            elif roll < 0.75:
                reads.append((ADMIN_ID, c["id"], c["last"]))
            elif roll < 0.90:
                reads.append((ADMIN_ID, c["id"], c["last"] - timedelta(days=rng.random() * 3)))
        await conn.copy_records_to_table(
            "whatsapp_contact_reads", columns=["profile_id", "contact_id", "read_at"], records=reads
        )
        # Read marks are by arrival (migration 0008): past what had arrived by read_at.
        await conn.execute(
            "UPDATE whatsapp_contact_reads r SET read_arrival = COALESCE((SELECT max(m.arrival) "
            "FROM whatsapp_messages m WHERE m.contact_id = r.contact_id "
            "AND m.timestamp <= r.read_at), 0)"
        )
        await conn.execute("VACUUM (ANALYZE) whatsapp_messages")
        await conn.execute("VACUUM (ANALYZE) whatsapp_contacts")
        await conn.execute("VACUUM (ANALYZE) whatsapp_contact_reads")
        await conn.execute("ANALYZE")
        count = await conn.fetchval("SELECT count(*) FROM whatsapp_messages")
        hot_count = await conn.fetchval(
            "SELECT count(*) FROM whatsapp_messages WHERE contact_id = $1", contacts[0]["id"]
        )
    finally:
        await conn.close()
    by_activity = sorted((c for c in contacts if c["last"]), key=lambda c: c["last"], reverse=True)
    name_fragments = ["silv", "mend", "ana c", "rocha"]
    phone_fragments = [by_activity[len(by_activity) // k]["phone"][-7:-2] for k in (2, 3, 5, 7)]
    ctx.seeded.update(
        main_instance_id=str(main_id),
        hot_contact_id=str(contacts[0]["id"]),
        messages=count,
        hot_messages=hot_count,
        contacts=len(contacts),
        name_fragments=name_fragments,
        phone_fragments=phone_fragments,
        seconds=round(time.monotonic() - started, 1),
        generate_seconds=round(generated - started, 1),
    )
    print(
        f"  seeded {count:,} messages ({hot_count:,} in the hot chat), {len(contacts):,} "
        f"contacts, {len(reads):,} read marks in {ctx.seeded['seconds']} s",
        flush=True,
    )


async def prepare(ctx: Context, data_dir: str) -> None:
    name = database_name(ctx.db_url)
    print(f"database {name}: drop, create, migrate, seed ({ctx.sizes.name} sizes)", flush=True)
    await recreate_database(ctx.admin_url, name)
    await asyncio.to_thread(migrate, ctx.db_url, data_dir)
    await seed(ctx)
