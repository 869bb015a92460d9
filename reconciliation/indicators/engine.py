"""The QĐ 766/QĐ-TTg online-payment indicator as a pure rule (docs/indicators.md).

A dossier counts once per agency, in the Vietnamese calendar month of its first applied payment
(the month its financial obligation was paid). It is paid online when every applied payment of
its requests up to the end of that month came through an online channel (a VietQR transfer,
seen by notification or on the statement, or the national portal); at the counter when none
did; mixed otherwise. Mixed dossiers are in the denominator, not the numerator: the citizen
still came to the counter. A payment after the month does not change the month's figure.

Plain values in, plain values out: no database, no clock.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum

# the channels a citizen pays through without coming to the counter: a VietQR transfer (bank)
# and the national portal (paygov); a card at the counter's terminal (pos) is not online
ONLINE_CHANNELS = frozenset({"bank", "paygov"})
CHANNELS = ("bank", "paygov", "pos")  # VietQR transfer, national portal, card at the counter


def channel_of(provider: str) -> str:
    """The collection channel of a transaction's provider (``bank:<gateway>`` is a transfer).
    A credit first seen on the bank statement (provider ``statement``) is a transfer whose
    notification never came."""
    name = provider.split(":")[0]
    return "bank" if name == "statement" else name


class DossierClass(StrEnum):
    ONLINE = "online"
    COUNTER = "counter"
    MIXED = "mixed"


@dataclass(frozen=True, slots=True)
class Payment:
    """One applied payment to a request with money due (total > 0)."""

    agency_code: str
    dossier_code: str
    channel: str  # bank | paygov | pos
    day: date  # its Vietnamese calendar day


@dataclass(slots=True)
class Tally:
    """The indicator of one agency for one month."""

    with_obligation: int = 0
    paid_online: int = 0
    paid_at_counter: int = 0
    mixed: int = 0
    by_channel: dict[str, int] = field(default_factory=dict)  # dossiers using each channel

    @property
    def rate_percent(self) -> float | None:
        """paid online ÷ with an obligation, in per cent to two decimals (None: no dossier)."""
        if not self.with_obligation:
            return None
        return round(100 * self.paid_online / self.with_obligation, 2)


def classify(channels: Iterable[str]) -> DossierClass:
    found = set(channels)
    online = found & ONLINE_CHANNELS
    if online == found:
        return DossierClass.ONLINE
    return DossierClass.MIXED if online else DossierClass.COUNTER


def tally(
    payments: Iterable[Payment],
    first: date,
    last: date,
    paid_before: Collection[tuple[str, str]] = (),
) -> dict[str, Tally]:
    """Per agency, the dossiers whose first payment fell from ``first`` to ``last`` (inclusive),
    classified by the channels of their payments up to ``last``. ``paid_before`` names the
    (agency, dossier) pairs known to have been paid before any of ``payments``."""
    dossiers: dict[tuple[str, str], tuple[date, set[str]]] = {}
    for p in payments:
        key = (p.agency_code, p.dossier_code)
        if p.day > last or key in paid_before:
            continue
        day, channels = dossiers.get(key, (p.day, set()))
        channels.add(p.channel)
        dossiers[key] = (min(day, p.day), channels)
    found: dict[str, Tally] = {}
    for (agency, _), (day, channels) in dossiers.items():
        if not first <= day <= last:
            continue
        t = found.setdefault(agency, Tally())
        t.with_obligation += 1
        kind = classify(channels)
        if kind == DossierClass.ONLINE:
            t.paid_online += 1
        elif kind == DossierClass.COUNTER:
            t.paid_at_counter += 1
        else:
            t.mixed += 1
        for channel in channels:
            t.by_channel[channel] = t.by_channel.get(channel, 0) + 1
    return found


def combined(tallies: Iterable[Tally]) -> Tally:
    """Several agencies' tallies summed (a dossier of two agencies counts for each)."""
    total = Tally()
    for t in tallies:
        total.with_obligation += t.with_obligation
        total.paid_online += t.paid_online
        total.paid_at_counter += t.paid_at_counter
        total.mixed += t.mixed
        for channel, n in t.by_channel.items():
            total.by_channel[channel] = total.by_channel.get(channel, 0) + n
    return total
