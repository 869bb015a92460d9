"""NAPAS bank directory: the 6-digit BIN of VietQR field 38.01.00 → bank.

``banks.json`` is a verbatim copy of ``/work/shared/reference/napas-banks.json`` (its ``sources``
name the public lists it merges; each entry names its own). Some BINs appear twice, for a bank that
was renamed (OceanBank → MBV, LienVietPostBank → LPBank, DongA Bank → Vikki Bank): the current
entry wins, i.e. the one not deprecated, then the one with the best VietQR support.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

__all__ = ["Bank", "bank", "bank_name", "banks", "is_known", "short_name"]


@dataclass(frozen=True, slots=True)
class Bank:
    bin: str
    code: str
    short_name: str
    name: str
    swift_code: str | None
    # 1 transfer supported, 0 receive only, -1 not supported, None: not in the VietQR.io list
    vietqr_status: int | None
    deprecated: bool


def _rank(entry: dict[str, Any]) -> tuple[bool, int]:
    status = entry["vietqr_status"]
    return (not entry["deprecated"], -2 if status is None else status)


@lru_cache(maxsize=1)
def banks() -> dict[str, Bank]:
    """Every known BIN → its current bank, loaded once from the packaged ``banks.json``."""
    raw = json.loads(resources.files(__package__).joinpath("banks.json").read_text("utf-8"))
    best: dict[str, dict[str, Any]] = {}
    for entry in raw["banks"]:
        held = best.get(entry["bin"])
        if held is None or _rank(entry) > _rank(held):
            best[entry["bin"]] = entry
    return {
        bin_: Bank(
            bin=bin_,
            code=e["code"],
            short_name=e["short_name"],
            name=e["name"],
            swift_code=e["swift_code"],
            vietqr_status=e["vietqr_status"],
            deprecated=e["deprecated"],
        )
        for bin_, e in sorted(best.items())
    }


def bank(bin_: str) -> Bank | None:
    return banks().get(bin_)


def is_known(bin_: str) -> bool:
    return bin_ in banks()


def bank_name(bin_: str) -> str | None:
    found = banks().get(bin_)
    return None if found is None else found.name


def short_name(bin_: str) -> str | None:
    found = banks().get(bin_)
    return None if found is None else found.short_name
