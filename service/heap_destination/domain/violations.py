from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class FieldViolation:
    """One broken rule: the request field (a dotted path) and what it must be."""

    field: str
    description: str


class InvalidInput(Exception):
    """A request that breaks one or more rules; nothing of it is sent to Heap."""

    def __init__(self, violations: Iterable[FieldViolation]) -> None:
        self.violations = tuple(violations)
        super().__init__("; ".join(f"{v.field}: {v.description}" for v in self.violations))


def raise_if_any(violations: list[FieldViolation]) -> None:
    if violations:
        raise InvalidInput(violations)
