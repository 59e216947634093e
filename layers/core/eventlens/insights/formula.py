"""A trends formula over its series: ``A / B * 100``, ``(A - B) / A``.

The letters A–Z name the series in their order; numbers, ``+ - * /``, unary minus and parentheses do
the rest, with the usual precedence. The text is parsed here, by a small recursive-descent parser into
a tree, and the tree evaluated per period: nothing is ever handed to ``eval``. A value missing on
either side, or a division by zero, gives no value (null).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from eventlens.errors import InvalidParameter

MAX_LENGTH = 200
MAX_NESTING = 20
_TOKEN = re.compile(r"\s*(?:(\d+(?:\.\d+)?|\.\d+)|([A-Z])|([-+*/()]))")


@dataclass(frozen=True)
class Number:
    value: float


@dataclass(frozen=True)
class Series:
    letter: str


@dataclass(frozen=True)
class Negative:
    operand: Node


@dataclass(frozen=True)
class Binary:
    operator: str
    left: Node
    right: Node


Node = Number | Series | Negative | Binary


class _Parser:
    def __init__(self, text: str, letters: set[str]) -> None:
        self.tokens = _tokens(text)
        self.position = 0
        self.letters = letters
        self.depth = 0

    def parse(self) -> Node:
        node = self.expression()
        if self.position < len(self.tokens):
            raise _problem(f"unexpected {self.tokens[self.position]!r}")
        return node

    def peek(self) -> str | None:
        return self.tokens[self.position] if self.position < len(self.tokens) else None

    def take(self) -> str:
        token = self.peek()
        if token is None:
            raise _problem("ends too early")
        self.position += 1
        return token

    def expression(self) -> Node:
        node = self.term()
        while self.peek() in ("+", "-"):
            operator = self.take()
            node = Binary(operator, node, self.term())
        return node

    def term(self) -> Node:
        node = self.factor()
        while self.peek() in ("*", "/"):
            operator = self.take()
            node = Binary(operator, node, self.factor())
        return node

    def factor(self) -> Node:
        self.depth += 1
        if self.depth > MAX_NESTING:
            raise _problem(f"nests deeper than {MAX_NESTING}")
        try:
            token = self.take()
            if token == "-":
                return Negative(self.factor())
            if token == "+":
                return self.factor()
            if token == "(":
                node = self.expression()
                if self.take() != ")":
                    raise _problem("a ( is not closed")
                return node
            if token.isalpha():
                if token not in self.letters:
                    raise _problem(f"{token} names no series (there are {', '.join(sorted(self.letters))})")
                return Series(token)
            if token[0].isdigit() or token[0] == ".":
                return Number(float(token))
            raise _problem(f"unexpected {token!r}")
        finally:
            self.depth -= 1


def _tokens(text: str) -> list[str]:
    tokens, position = [], 0
    while position < len(text):
        if text[position:].strip() == "":
            break
        match = _TOKEN.match(text, position)
        if match is None:
            raise _problem(f"cannot read {text[position:].strip()[:10]!r}")
        tokens.append(next(group for group in match.groups() if group is not None))
        position = match.end()
    if not tokens:
        raise _problem("is empty")
    return tokens


def _problem(reason: str) -> InvalidParameter:
    return InvalidParameter("formula", reason)


def parse_formula(text: str, letters: set[str]) -> Node:
    """The tree of ``text``, whose letters must be among ``letters``; InvalidParameter naming
    ``formula`` when it cannot be read."""
    if len(text) > MAX_LENGTH:
        raise _problem(f"at most {MAX_LENGTH} characters")
    return _Parser(text, letters).parse()


def evaluate(node: Node, values: dict[str, float | None]) -> float | None:
    """The formula's value for one period's series values (None: no value, or none a JSON number
    can hold)."""
    value = _value(node, values)
    return value if value is None or math.isfinite(value) else None


def _value(node: Node, values: dict[str, float | None]) -> float | None:
    if isinstance(node, Number):
        return node.value
    if isinstance(node, Series):
        return values.get(node.letter)
    if isinstance(node, Negative):
        operand = _value(node.operand, values)
        return None if operand is None else -operand
    left, right = _value(node.left, values), _value(node.right, values)
    if left is None or right is None:
        return None
    if node.operator == "+":
        return left + right
    if node.operator == "-":
        return left - right
    if node.operator == "*":
        return left * right
    return None if right == 0 else left / right
