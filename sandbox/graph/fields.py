"""The ``fields=`` selection syntax: ``id,name,commerce_merchant_settings{id,cta}``,
``commerce_merchant_settings.fields(id,cta)``, ``product_group{id}``, ``errors.limit(5)``."""

from __future__ import annotations

from dataclasses import dataclass, field

from . import errors
from .schema import fields_of


@dataclass
class FieldSpec:
    """One selected field with its nested selection (None: the field's defaults)."""

    name: str
    children: dict[str, FieldSpec] | None = None
    limit: int | None = None
    extra: dict[str, str] = field(default_factory=dict)


Selection = dict[str, FieldSpec]


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def fail(self, expected: str) -> errors.GraphError:
        return errors.invalid_param(f'Syntax error "Expected {expected}." at character {self.pos}: {self.text}')

    def peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def skip_space(self) -> None:
        while self.peek().isspace():
            self.pos += 1

    def name(self) -> str:
        self.skip_space()
        start = self.pos
        while self.peek() and (self.peek().isalnum() or self.peek() in "_:"):
            self.pos += 1
        if start == self.pos:
            raise self.fail("a field name")
        return self.text[start : self.pos]

    def args(self) -> str:
        # The raw text between balanced parentheses.
        depth, start = 1, self.pos
        while depth:
            char = self.peek()
            if not char:
                raise self.fail('")"')
            depth += {"(": 1, ")": -1}.get(char, 0)
            self.pos += 1
        return self.text[start : self.pos - 1]

    def selection(self, closing: str = "") -> Selection:
        result: Selection = {}
        while True:
            spec = self.field()
            result[spec.name] = spec
            self.skip_space()
            char = self.peek()
            if char == ",":
                self.pos += 1
                continue
            if char == closing:
                return result
            raise self.fail(f'"," or "{closing}"' if closing else '"," or end of string')

    def field(self) -> FieldSpec:
        spec = FieldSpec(self.name())
        while self.peek() == ".":
            self.pos += 1
            modifier = self.name()
            if self.peek() != "(":
                raise self.fail('"("')
            self.pos += 1
            argument = self.args()
            if modifier == "fields":
                spec.children = parse_fields(argument) if argument.strip() else {}
            elif modifier == "limit":
                try:
                    spec.limit = int(argument)
                except ValueError:
                    raise self.fail("an integer limit") from None
            else:
                spec.extra[modifier] = argument
        self.skip_space()
        if self.peek() == "{":
            self.pos += 1
            spec.children = self.selection("}")
            self.pos += 1
        return spec


def parse_fields(text: str | None) -> Selection | None:
    """Parse a ``fields`` parameter; None when none was given."""
    if text is None or not str(text).strip():
        return None
    return _Parser(str(text)).selection()


def resolve(selection: Selection | None, node_type: str, defaults: tuple[str, ...]) -> Selection:
    """The effective selection on a node type, refusing fields the node does not have."""
    if selection is None:
        return {name: FieldSpec(name) for name in defaults}
    allowed = fields_of(node_type)
    for name in selection:
        if name not in allowed:
            raise errors.nonexisting_field(name, node_type)
    return selection
