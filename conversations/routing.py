"""Websocket routes; each socket has its own origin check (shared/API.md "Websockets")."""

websocket_urlpatterns: list = []
