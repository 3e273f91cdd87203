"""FastAPI's vocabulary: the names that make a route. Facts are computed with it (the summariser
recognises route decorators by these names), so it lives apart from the slow-call catalogue: adding a
catalogue entry does not invalidate every cached summary."""

from __future__ import annotations

ROUTE_FACTORIES = frozenset({"fastapi.FastAPI", "fastapi.APIRouter"})
ROUTE_DECORATORS = frozenset({"get", "post", "put", "patch", "delete", "options", "head", "trace", "api_route",
                              "websocket", "route", "websocket_route"})  # fmt: skip
