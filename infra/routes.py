"""Every HTTP route of the manifest, who serves it, and the key it takes (none for a public route)."""

from __future__ import annotations

from dataclasses import dataclass

from eventlens.manifest import Access, Function


@dataclass(frozen=True)
class RouteTable:
    functions: dict[str, str]  # route key ("GET /stats/dau") → the function serving it
    access: dict[str, Access | None]  # route key → the key it takes; None: public

    @property
    def write_routes(self) -> list[str]:
        """The routes a write key may call (the authorizer's ``EVENTLENS_WRITE_ROUTES``)."""
        return sorted(route for route, access in self.access.items() if access == "write")

    @property
    def protected(self) -> list[str]:
        return sorted(route for route, access in self.access.items() if access is not None)


def route_table(manifest: dict[str, Function]) -> RouteTable:
    """The routes of every function; a route served by two functions stops the deployment."""
    functions: dict[str, str] = {}
    access: dict[str, Access | None] = {}
    for name, function in sorted(manifest.items()):
        for route in function.http:
            if route.key in functions:
                raise ValueError(f"route {route.key} is served by both {functions[route.key]} and {name}")
            functions[route.key] = name
            access[route.key] = None if route in function.public else function.access
    return RouteTable(functions, access)
