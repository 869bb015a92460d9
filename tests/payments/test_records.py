"""Frozen records made without the frozen ``__setattr__`` (payments.records)."""

from __future__ import annotations

import dataclasses

import pytest

from payments.records import make_many, maker


@dataclasses.dataclass(frozen=True, slots=True)
class Point:
    x: int
    y: int
    label: str = "p"


def test_a_made_record_is_the_frozen_class_equal_and_hashable() -> None:
    made = maker(Point)(1, 2)
    assert type(made) is Point and made == Point(1, 2, "p")
    assert hash(made) == hash(Point(1, 2)) and {made, Point(1, 2)} == {made}
    with pytest.raises(dataclasses.FrozenInstanceError):
        made.x = 3  # type: ignore[misc]


def test_many_records_from_columns() -> None:
    made = make_many(Point, [1, 2], [3, 4], ["a", "b"])
    assert made == [Point(1, 3, "a"), Point(2, 4, "b")]
    assert all(type(p) is Point for p in made)


def test_only_a_slotted_dataclass_can_be_made() -> None:
    @dataclasses.dataclass(frozen=True)
    class Loose:
        x: int

    with pytest.raises(TypeError, match="not a slotted dataclass"):
        maker(Loose)
