"""Property filters with operators, and the property references they, breakdowns and maths name.

A property is named as the segment grammar names it (``eventlens.reports.segments``):

* ``event_type`` (or ``type``), ``source``, ``user_id``: the event's columns;
* ``properties.<key>[.<key>…]``: an event property (a nested one by its path), up to 4 keys;
* ``person.<key>[.<key>…]``: a person property (see ``person_key``: today the value on the person's
  latest event that carries it).

Operators and what they match (a property the event lacks matches only the negative ones):

* ``equals`` / ``not_equals``: a text value compares with the property's text (a string as it is,
  any other value as its JSON text, ``10`` or ``true``); a number compares numerically with a
  number; ``true``/``false`` with a boolean; a list matches any of its values;
* ``contains`` / ``not_contains``: the text holds the value (case-sensitive);
* ``regex`` / ``not_regex``: the text matches the RE2 pattern (somewhere in it; anchor with ^ $);
* ``gt`` / ``gte`` / ``lt`` / ``lte``: the property is a JSON number, compared with the value;
* ``is_set`` / ``is_not_set``: the event (or person) has the property, whatever its value.

Each negative operator matches exactly what its positive one does not.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator
from pydantic_core import PydanticCustomError

from eventlens.hot_properties import HOT_PROPERTIES
from eventlens.insights.bindings import Bindings
from eventlens.insights.person_key import person, person_property_values

MAX_DEPTH = 4
MAX_FILTERS = 20
MAX_VALUES = 100
_KEY = r"[A-Za-z0-9_$\-]{1,64}"
PROPERTY_PATTERN = rf"^(event_type|type|source|user_id|(properties|person)(\.{_KEY}){{1,{MAX_DEPTH}}})$"
_KEY_SPLIT = re.compile(r"\.")

Operator = Literal[
    "equals",
    "not_equals",
    "contains",
    "not_contains",
    "regex",
    "not_regex",
    "gt",
    "gte",
    "lt",
    "lte",
    "is_set",
    "is_not_set",
]
NEGATIVE: dict[str, str] = {
    "not_equals": "equals",
    "not_contains": "contains",
    "not_regex": "regex",
    "is_not_set": "is_set",
}
_COMPARISONS = {"gt": ">", "gte": ">=", "lt": "<", "lte": "<="}
_TEXT_OPERATORS = {"contains", "not_contains", "regex", "not_regex"}
# Event columns a property reference may name, and the column each reads.
COLUMNS = {"event_type": "event_type", "type": "event_type", "source": "source", "user_id": "user_id"}
# Hot properties held in a column of their own read from one key only: their text is the column's.
_HOT_TEXT = {p.keys[0]: p.column for p in HOT_PROPERTIES if p.is_text and len(p.keys) == 1}

PropertyName = Annotated[
    str,
    StringConstraints(pattern=PROPERTY_PATTERN),
    Field(
        description="event_type, source, user_id, properties.<key>[.<key>…] or person.<key>[.<key>…]",
        examples=["properties.country", "event_type", "person.plan"],
    ),
]
Text = Annotated[str, StringConstraints(max_length=1000)]
Scalar = Text | float | bool


def invalid(reason: str) -> PydanticCustomError:
    """A body that is not valid, and why (a 422 naming where): the reason goes in the error's context,
    which stays JSON (a ValueError's would carry the exception object)."""
    return PydanticCustomError("invalid_query", "{reason}", {"reason": reason})


class PropertyFilter(BaseModel):
    """One condition on a property: ``{"property": "properties.country", "operator": "equals",
    "value": "UA"}``."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    property: PropertyName
    operator: Operator = "equals"
    value: Scalar | Annotated[list[Text | float], Field(min_length=1, max_length=MAX_VALUES)] | None = Field(
        default=None, description="none for is_set / is_not_set; a list (any of) for equals"
    )

    @model_validator(mode="after")
    def _value_fits_operator(self) -> PropertyFilter:
        op, value = self.operator, self.value
        if op in ("is_set", "is_not_set"):
            if value is not None:
                raise invalid(f"{op} takes no value")
        elif value is None:
            raise invalid(f"{op} needs a value")
        elif op in _COMPARISONS:
            if isinstance(value, bool) or not isinstance(value, float | int):
                raise invalid(f"{op} compares with a number, got {value!r}")
        elif op in _TEXT_OPERATORS and (not isinstance(value, str) or not value):
            raise invalid(f"{op} needs a non-empty text value")
        reference = parse_property(self.property)
        if reference.kind == "column" and op in _COMPARISONS:
            raise invalid(f"{self.property} is text: {op} compares numbers")
        return self


@dataclass(frozen=True)
class PropertyRef:
    """A parsed property name: a column, an event property path or a person property path."""

    kind: Literal["column", "event", "person"]
    keys: tuple[str, ...]  # the column name, or the property path

    @property
    def name(self) -> str:
        if self.kind == "column":
            return self.keys[0]
        return ("properties." if self.kind == "event" else "person.") + ".".join(self.keys)


def parse_property(name: str) -> PropertyRef:
    """``event_type`` → a column, ``properties.a.b`` → an event property, ``person.plan`` → a person one.
    The name has passed ``PROPERTY_PATTERN``."""
    if name in COLUMNS:
        return PropertyRef("column", (COLUMNS[name],))
    head, *keys = _KEY_SPLIT.split(name)
    return PropertyRef("event" if head == "properties" else "person", tuple(keys))


@dataclass(frozen=True)
class JsonValue:
    """A property's value in SQL: the JSON document it is in (``properties``, or a person's raw value)
    and the bound path to it, and the hot column holding its text, when one does."""

    doc: str
    path: str = ""  # ", {p0:String}, {p1:String}", or "" for the document itself
    hot_text: str | None = None

    def has(self) -> str:
        return f"JSONHas({self.doc}{self.path})" if self.path else f"({self.doc} != '')"

    def text(self) -> str:
        return f"JSONExtractString({self.doc}{self.path})"

    def number(self) -> str:
        """The value when it is a JSON number, NULL otherwise (a string "12" is not a number)."""
        return f"toFloat64OrNull(JSONExtractRaw({self.doc}{self.path}))"

    def is_bool(self, value: bool) -> str:
        return f"(JSONExtractRaw({self.doc}{self.path}) = '{'true' if value else 'false'}')"


def event_value(ref: PropertyRef, bindings: Bindings) -> JsonValue:
    """An event property's value on a row of ``events``."""
    hot = _HOT_TEXT.get(ref.keys[0]) if len(ref.keys) == 1 else None
    return JsonValue("properties", ", " + bindings.path(ref.keys), hot)


def event_text(ref: PropertyRef, bindings: Bindings) -> str:
    """The text of a column or an event property on a row of ``events`` ('' when absent): what a
    breakdown groups by."""
    if ref.kind == "column":
        return ref.keys[0]
    value = event_value(ref, bindings)
    return value.hot_text or value.text()


def event_number(ref: PropertyRef, bindings: Bindings) -> str:
    """An event property as a number (NULL when absent or not a JSON number): what a math reads."""
    return event_value(ref, bindings).number()


def value_condition(value: JsonValue, operator: str, wanted: object, bindings: Bindings) -> str:
    """The condition ``operator wanted`` on ``value`` (see the module doc)."""
    if operator in NEGATIVE:
        return f"NOT ({value_condition(value, NEGATIVE[operator], wanted, bindings)})"
    if operator == "is_set":
        return value.has()
    if operator in _COMPARISONS:
        return f"ifNull({value.number()} {_COMPARISONS[operator]} {bindings.bind(wanted, 'Float64')}, 0)"
    if operator == "equals":
        options = wanted if isinstance(wanted, list) else [wanted]
        return "(" + " OR ".join(_equals(value, option, bindings) for option in options) + ")"
    text = value.hot_text or value.text()
    if operator == "contains":
        return f"(position({text}, {bindings.text(str(wanted))}) > 0)"
    # regex: the column's text is '' when absent; an empty text must not match an absent property
    return f"({value.has()} AND match({value.text()}, {bindings.text(str(wanted))}))"


def _equals(value: JsonValue, wanted: object, bindings: Bindings) -> str:
    if isinstance(wanted, bool):
        return value.is_bool(wanted)
    if isinstance(wanted, float | int):
        return f"ifNull({value.number()} = {bindings.bind(float(wanted), 'Float64')}, 0)"
    text = str(wanted)
    if value.hot_text and text:
        return f"{value.hot_text} = {bindings.text(text)}"
    return f"({value.has()} AND {value.text()} = {bindings.text(text)})"


def column_condition(column: str, operator: str, wanted: object, bindings: Bindings) -> str:
    """A text operator on one of the event's own columns (always set)."""
    if operator in NEGATIVE:
        return f"NOT ({column_condition(column, NEGATIVE[operator], wanted, bindings)})"
    if operator == "is_set":
        return "1"
    if operator == "equals":
        options = [str(v) for v in (wanted if isinstance(wanted, list) else [wanted])]
        return f"has({bindings.bind(options, 'Array(String)')}, {column})"
    if operator == "contains":
        return f"(position({column}, {bindings.text(str(wanted))}) > 0)"
    return f"match({column}, {bindings.text(str(wanted))})"


def filter_condition(item: PropertyFilter, bindings: Bindings) -> str:
    """The condition of one filter over a row of ``events`` (a person property: whether the row's
    person has it)."""
    ref = parse_property(item.property)
    if ref.kind == "column":
        return column_condition(ref.keys[0], item.operator, item.value, bindings)
    if ref.kind == "event":
        return value_condition(event_value(ref, bindings), item.operator, item.value, bindings)
    return person_condition(ref, item.operator, item.value, bindings)


def person_condition(ref: PropertyRef, operator: str, wanted: object, bindings: Bindings) -> str:
    """Whether a row's person's property ``ref`` satisfies ``operator wanted``: the persons that do,
    taken from ``person_property_values`` (a negative operator: the persons that do not satisfy the
    positive one, those without the property included)."""
    positive = NEGATIVE.get(operator, operator)
    persons = person_property_values(bindings.path(ref.keys))
    condition = value_condition(JsonValue("value"), positive, wanted, bindings)
    membership = "NOT IN" if operator in NEGATIVE else "IN"
    return f"{person(bindings)} {membership} (SELECT holder FROM ({persons}) WHERE {condition})"


def filters_condition(filters: list[PropertyFilter], bindings: Bindings) -> str:
    """The AND of the filters' conditions, ``1`` for none."""
    return " AND ".join(f"({filter_condition(item, bindings)})" for item in filters) or "1"


EventName = Annotated[
    str, StringConstraints(min_length=1, max_length=200), Field(examples=["purchase", "page_view"])
]


class EventMatcher(BaseModel):
    """Events of one type (or of any type) that pass filters: a trends series, a funnel step, a
    cohort's behaviour."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    event: EventName | None = Field(default=None, description="the event type; none: any event")
    filters: list[PropertyFilter] = Field(default_factory=list, max_length=MAX_FILTERS)


def matcher_condition(matcher: EventMatcher, bindings: Bindings) -> str:
    """The condition a row of ``events`` meets when it is one of ``matcher``'s events."""
    parts = [] if matcher.event is None else [f"event_type = {bindings.text(matcher.event)}"]
    if matcher.filters:
        parts.append(filters_condition(matcher.filters, bindings))
    return "(" + (" AND ".join(parts) or "1") + ")"


def event_types_condition(matchers: Sequence[EventMatcher], bindings: Bindings) -> str:
    """`` AND event_type IN (…)`` when every matcher names its event type (the sort key's third column
    and a PREWHERE reading one small column), else nothing: some matcher takes any event."""
    types = {matcher.event for matcher in matchers}
    if not types or None in types:
        return ""
    return f" AND event_type IN {bindings.bind(sorted(t for t in types if t is not None), 'Array(String)')}"
