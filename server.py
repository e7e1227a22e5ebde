"""Atendimento: the Starlette application, its lifespan, and the command line.

python server.py [serve]        start the server (the embedded PostgreSQL when no DATABASE_URL)
python server.py migrate        apply database migrations and exit
python server.py token          print a bearer token signed with the configured secret
python server.py export-schema  print the GraphQL schema (SDL)
python server.py events list|replay    the webhook event log
python server.py instances reconcile   ask Evolution for every number's real state
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import signal
import sys
import uuid
from collections.abc import AsyncIterator
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute
from strawberry.subscriptions import (
    GRAPHQL_SSE_PROTOCOL,
    GRAPHQL_TRANSPORT_WS_PROTOCOL,
    GRAPHQL_WS_PROTOCOL,
    MULTIPART_SUBSCRIPTION_PROTOCOL,
)

from db.embedded import DataFolderError
from db.migrate import apply_migrations, pending_migrations
from db.sql import close_database, connection, create_database
from resolvers.export_route import export_route
from resolvers.graphiql import graphiql_assets_route
from resolvers.live_fanout import LiveFanout
from resolvers.media_route import media_route
from resolvers.report_route import report_route
from resolvers.view import GraphQLView
from resolvers.webhook_route import webhook_routes
from schema.root import build_schema, schema
from services.identity.auth import LOCAL_ADMIN_ID, issuer_of, mint_token
from services.instances.evolution import EvolutionClient
from services.instances.lifecycle import encrypt_stored_tokens
from services.media.store import create_media_store
from services.platform import bootstrap, cli, processes
from services.platform.broadcast_backends import create_broadcast
from services.platform.crypto import Vault
from services.platform.events import EventBus
from services.platform.liveness import Liveness
from services.platform.logs import configure_logging, register_secrets
from services.platform.metrics import record_evolution_call, render as render_metrics
from services.platform.rate_limit import RateLimiter
from services.platform.request_log import RequestLog
from services.platform.runtime import Runtime
from services.platform.settings import Settings, SettingsError, load_settings
from services.platform.workers import Workers
from services.webhooks.receiver import WebhookReceiver

log = logging.getLogger("atendimento")


# What browser GraphQL clients send besides the token and content type: Apollo's CSRF and
# client-awareness headers, request ids, and the tracing headers Sentry adds to every fetch.
CORS_ALLOWED_HEADERS = (
    "authorization",
    "content-type",
    "accept",
    "x-request-id",
    "apollo-require-preflight",
    "x-apollo-operation-name",
    "apollographql-client-name",
    "apollographql-client-version",
    "sentry-trace",
    "baggage",
    "traceparent",
    "tracestate",
)
# Websockets (graphql-transport-ws, legacy graphql-ws) and subscriptions over HTTP: Apollo
# Client's multipart protocol and GraphQL over Server-Sent Events (distinct connections mode).
SUBSCRIPTION_PROTOCOLS = (
    GRAPHQL_TRANSPORT_WS_PROTOCOL,
    GRAPHQL_WS_PROTOCOL,
    MULTIPART_SUBSCRIPTION_PROTOCOL,
    GRAPHQL_SSE_PROTOCOL,
)
# Browsers cap this (Chromium at 2 h); a day asks for the most any of them grants.
CORS_MAX_AGE_SECONDS = 86_400

UVICORN_OPTIONS: dict[str, Any] = {
    "log_config": None,
    "proxy_headers": True,
    "ws_ping_interval": 20,
    # Compression costs ~50 KB per idle subscriber for small JSON events.
    "ws_per_message_deflate": False,
}


def create_app(settings: Settings, jwt_secret: str, vault: Vault | None = None) -> Starlette:
    """The application for an already resolved DATABASE_URL (see `serve`)."""
    assert settings.database_url, "resolve the database URL before creating the app"
    register_secrets(
        [
            jwt_secret,
            settings.evolution_api_key,
            settings.webhook_secret,
            settings.supabase_service_role_key,
            settings.encryption_key,
        ]
    )
    broadcast = create_broadcast(settings.broadcast_url)
    runtime = Runtime(
        settings=settings,
        db=create_database(
            settings.database_url,
            min_size=settings.db_pool_min,
            max_size=settings.db_pool_max,
            statement_cache_size=settings.db_statement_cache_size,
        ),
        bus=EventBus(broadcast),
        evolution=EvolutionClient(
            settings.evolution_api_base_url,
            settings.evolution_api_key,
            timeout=settings.evolution_timeout_seconds,
            retry_seconds=settings.evolution_retry_seconds,
        ),
        vault=vault or bootstrap.vault(settings),
        media=create_media_store(settings),
        jwt_secret=jwt_secret,
    )
    # Per profile: a burst of 20 messages, then the configured pace (on top of each number's).
    runtime.send_limiter = RateLimiter(settings.send_rate_per_minute / 60, 20)
    # Per client address, before anything else: what a sender without the secret can cost.
    runtime.webhook_source_limiter = RateLimiter(
        settings.webhook_source_rate_per_second, settings.webhook_source_rate_per_second * 2
    )
    # Per instance, once authenticated: Evolution's bursts pass, a flood does not drown the
    # other numbers.
    runtime.webhook_limiter = RateLimiter(
        settings.webhook_rate_per_second, settings.webhook_rate_per_second * 2
    )
    runtime.evolution.on_call = record_evolution_call
    receiver = WebhookReceiver(runtime)
    served = build_schema(introspection=settings.graphiql, executor=settings.graphql_executor)
    view = GraphQLView(
        runtime,
        live_fanout=(
            LiveFanout(served, runtime.db, runtime.bus, runtime.live_loads)
            if settings.live_fanout == "direct"
            else None
        ),
        schema=served,
        graphql_ide="graphiql" if settings.graphiql else None,
        multipart_uploads_enabled=True,
        allowed_origins=settings.cors_origins,
        subscription_protocols=SUBSCRIPTION_PROTOCOLS,
    )

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        assert settings.database_url
        await apply_migrations(settings.database_url)
        await runtime.db.connect()
        try:
            async with broadcast:
                await encrypt_stored_tokens(runtime)
                await runtime.bus.start()
                if runtime.tokens.keys is not None:
                    runtime.tokens.keys.warm_up()
                workers = Workers(runtime)
                if settings.workers_enabled:
                    runtime.liveness = Liveness(settings.database_url)
                    await runtime.liveness.start()
                    workers.start()
                runtime.ready = True
                log.info("GraphQL API at http://%s:%s/graphql", settings.host, settings.port)
                try:
                    yield
                finally:
                    runtime.ready = False
                    await workers.stop()
                    await runtime.liveness.stop()
                    await runtime.bus.stop()
                    await runtime.evolution.aclose()
                    await runtime.tokens.aclose()
                    await runtime.media.aclose()
        finally:
            await close_database(runtime.db)

    async def metrics(request: Request) -> Response:
        body, content_type = await render_metrics(runtime)
        return Response(body, media_type=content_type)

    async def healthz(request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    async def readyz(request: Request) -> JSONResponse:
        problems: list[str] = []
        if not runtime.ready:
            problems.append("starting or stopping")
        else:
            try:
                async with connection(runtime.db) as conn:
                    if await pending_migrations(conn):
                        problems.append("migrations pending")
            except Exception as error:  # any failure here means "not ready", never a 500
                problems.append(f"database unreachable: {type(error).__name__}")
        if problems:
            return JSONResponse({"status": "unavailable", "problems": problems}, status_code=503)
        return JSONResponse({"status": "ready"})

    app = Starlette(
        routes=[
            Route("/graphql", view, methods=["GET", "POST"]),
            WebSocketRoute("/graphql", view),
            *webhook_routes(runtime, receiver),
            Route("/healthz", healthz),
            Route("/readyz", readyz),
            Route("/metrics", metrics),
            media_route(runtime),
            export_route(runtime),
            report_route(runtime),
            graphiql_assets_route(),
        ],
        middleware=[
            Middleware(RequestLog),
            Middleware(
                CORSMiddleware,
                allow_origins=list(settings.cors_origins),
                allow_methods=["GET", "POST", "OPTIONS"],
                allow_headers=list(CORS_ALLOWED_HEADERS),
                expose_headers=["X-Request-ID"],
                max_age=CORS_MAX_AGE_SECONDS,
            ),
        ],
        lifespan=lifespan,
    )
    app.state.runtime = runtime
    app.state.graphql_view = view
    return app


def serve(settings: Settings) -> None:
    import uvicorn

    # uvicorn re-raises SIGTERM after its graceful shutdown; turning it into SystemExit lets the
    # atexit hooks run, and the embedded PostgreSQL is stopped with us instead of left behind.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))

    secret = bootstrap.jwt_secret(settings)
    settings = settings.with_overrides(database_url=bootstrap.resolve_database_url(settings))
    if settings.web_concurrency > 1:
        settings = processes.prepare(settings)
    else:
        app = create_app(settings, secret)
    if not settings.supabase_jwt_secret:
        token = mint_token(
            secret,
            sub=LOCAL_ADMIN_ID,
            role="admin",
            name="Administrador",
            issuer=issuer_of(settings.supabase_url),
        )
        print(
            f"\nGraphiQL: http://{settings.host}:{settings.port}/graphql\n"
            "Paste this header into GraphiQL's Headers tab (valid 7 days; "
            "`make token` makes a new one):\n"
            f'{{"Authorization": "Bearer {token}"}}\n',
            flush=True,
        )
    if settings.web_concurrency > 1:
        uvicorn.run(
            "server:process_app",
            factory=True,
            workers=settings.web_concurrency,
            host=settings.host,
            port=settings.port,
            **UVICORN_OPTIONS,
        )
    else:
        uvicorn.run(app, host=settings.host, port=settings.port, **UVICORN_OPTIONS)


def process_app() -> Starlette:
    """The app of one of WEB_CONCURRENCY's processes, from the environment `serve` prepared."""
    settings = load_settings()
    configure_logging(settings.log_level, settings.log_format)
    return create_app(settings, bootstrap.jwt_secret(settings))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="server.py", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command")
    commands.add_parser("serve", help="start the server (default)")
    commands.add_parser("migrate", help="apply database migrations and exit")
    token = commands.add_parser("token", help="print a bearer token")
    token.add_argument("--role", choices=["admin", "agent"], default="admin")
    token.add_argument("--sub", type=uuid.UUID, help="profile id (default: the local admin)")
    token.add_argument("--name", help="the profile's display name")
    token.add_argument("--email")
    token.add_argument("--days", type=float, default=7.0, help="validity in days (default 7)")
    commands.add_parser("export-schema", help="print the GraphQL schema (SDL)")
    events = commands.add_parser("events", help="the webhook event log").add_subparsers(
        dest="action", required=True
    )
    listing = events.add_parser("list", help="recent events (newest first)")
    listing.add_argument("--failed", action="store_true", help="only failed ones")
    listing.add_argument("--limit", type=int, default=50)
    replay = events.add_parser("replay", help="queue failed events again")
    target = replay.add_mutually_exclusive_group(required=True)
    target.add_argument("--failed", action="store_true", help="every failed event")
    target.add_argument("--id", type=int, help="one event")
    instances = commands.add_parser("instances", help="WhatsApp numbers").add_subparsers(
        dest="action", required=True
    )
    instances.add_parser("reconcile", help="ask Evolution for every number's real state")
    args = parser.parse_args(argv)

    if args.command == "export-schema":
        print(schema.as_str())
        return 0
    try:
        settings = load_settings()
    except SettingsError as error:
        print(f"configuration error: {error}", file=sys.stderr)
        return 2
    configure_logging(settings.log_level, settings.log_format)

    if args.command == "token":
        sub = args.sub or (LOCAL_ADMIN_ID if args.role == "admin" else uuid.uuid4())
        print(
            mint_token(
                bootstrap.jwt_secret(settings),
                sub=sub,
                role=args.role,
                name=args.name,
                email=args.email,
                ttl_seconds=int(args.days * 86400),
                issuer=issuer_of(settings.supabase_url),
            )
        )
        return 0
    if args.command == "events":
        if args.action == "list":
            return cli.events_list(settings, args.failed, args.limit)
        return cli.events_replay(settings, args.id)
    if args.command == "instances":
        return cli.instances_reconcile(settings)
    try:
        if args.command == "migrate":
            import asyncio

            applied = asyncio.run(apply_migrations(bootstrap.resolve_database_url(settings)))
            print(f"applied {len(applied)} migration(s): {', '.join(applied) or 'none pending'}")
            return 0
        serve(settings)
    except (DataFolderError, SettingsError) as error:
        print(f"configuration error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
