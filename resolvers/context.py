from __future__ import annotations

import uuid
from collections.abc import Hashable
from dataclasses import dataclass, field
from typing import Any

import strawberry
from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket

from resolvers.loaders import Loaders
from services.errors import AppError, Unauthenticated
from services.identity import auth
from services.identity.auth import Principal
from services.media import links as media_links
from services.platform.runtime import Runtime


@dataclass(slots=True)  # thousands live at once, one per open subscription
class Context:
    runtime: Runtime
    request: Request | WebSocket
    response: Response | WebSocket | None
    principal: Principal | None = None
    auth_error: AppError | None = None
    connection_params: dict[str, Any] | None = field(default=None)
    _loaders: Loaders | None = None
    # A websocket's queue of live frames (resolvers/live_fanout.py), made on first use.
    live_sink: object | None = None

    @property
    def loaders(self) -> Loaders:
        """This request's DataLoaders, made on first use (after authentication, for the
        viewer's own unread counts); an idle subscription holds none."""
        if self._loaders is None:
            self._loaders = Loaders(self.runtime, self.principal)
        return self._loaders

    @property
    def viewer(self) -> Principal:
        if self.principal is None:
            raise self.auth_error or Unauthenticated("Authentication required")
        return self.principal

    def token_expired(self) -> bool:
        """Whether the viewer's token has expired since the request began: a subscription
        over HTTP then ends (websockets are closed with 4403 by their handlers)."""
        return self.principal is not None and auth.wall_clock() >= self.principal.expires_at

    def media_url(self, message_pk: uuid.UUID, fmt: str = "original") -> str:
        """A signed, short-lived URL of this server for the message's media (media_links)."""
        runtime = self.runtime
        expires = media_links.expiry(runtime.settings.media_url_ttl_seconds)
        path = media_links.signed_path(runtime.vault.media_url_key(), message_pk, fmt, expires)
        return media_links.absolute(runtime.settings.app_url or str(self.request.base_url), path)

    def shared_result_key(self, per_viewer: bool) -> Hashable:
        """What, besides the selection, a shared live-event result depends on (the executor):
        the base of media URLs and, for per-viewer fields, the viewer."""
        viewer = self.principal.profile_id if per_viewer and self.principal else None
        return (self.runtime.settings.app_url or str(self.request.base_url), viewer)

    def fresh_loaders(self) -> None:
        """Forget the loaders of a long-lived context (a subscription) between events, so no
        event sees data cached for an earlier one."""
        self._loaders = None


Info = strawberry.Info[Context, None]
