"""The bound parameters of one insight's SQL: every value a request brings goes in here and reaches the
SQL text only as a ``{name:Type}`` placeholder that the warehouse binds."""

from __future__ import annotations

from typing import Any


class Bindings:
    """Parameters of one query, ``project`` always among them (each query names it for every table)."""

    def __init__(self, project_id: str, ids_are_persons: bool = False, **fixed: Any) -> None:
        self.params: dict[str, Any] = {"project": project_id, **fixed}
        # Whether every user_id of the project is a person of its own (no merges: ``person_key``),
        # read once per query; False (the default) maps each id through the project's mapping.
        self.ids_are_persons = ids_are_persons
        self._next = 0

    def bind(self, value: Any, ch_type: str) -> str:
        """A placeholder for ``value`` as ClickHouse type ``ch_type`` (a type of our choosing)."""
        name = f"p{self._next}"
        self._next += 1
        self.params[name] = value
        return f"{{{name}:{ch_type}}}"

    def text(self, value: str) -> str:
        return self.bind(value, "String")

    def path(self, keys: tuple[str, ...]) -> str:
        """The JSON path arguments for ``keys`` (``{p1:String}, {p2:String}``)."""
        return ", ".join(self.text(key) for key in keys)
