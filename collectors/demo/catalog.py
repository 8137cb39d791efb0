"""The estate's reference data: stores with skewed traffic, the SKU catalogue and customers."""

from __future__ import annotations

import itertools
from bisect import bisect
from random import Random

MAX_STORES = 400
ORDERS_PER_STORE = 100  # over the two days: about two till sales or pickups a trading hour
SKU_COUNT = 3_000
CURRENCY = "EUR"
LAUNCH_SKU = "FW-90001-42"
LAUNCH_POS_CENTS = 12_900
LAUNCH_WEB_CENTS = 11_900
_CATEGORIES = ("AP", "FW", "AC", "HM", "KD", "SP", "BT")
_SIZES = ("XS", "S", "M", "L", "XL", "38", "40", "42", "44", "OS")
_TAX_CODES = ("VAT-STD", "VAT-RED", "VAT-ZERO")
_FIRST = (
    "anna", "ben", "carla", "david", "elif", "finn", "greta", "hugo", "ines", "jonas", "karin",
    "leo", "mira", "nils", "olga", "paul", "quinn", "rosa", "sven", "tara", "uwe", "vera",
    "wim", "xenia", "yusuf", "zoe", "amir", "bella", "chen", "dora", "emil", "fatima",
)
_LAST = (
    "schmidt", "meyer", "weber", "wagner", "becker", "hoffmann", "koch", "richter", "klein",
    "wolf", "neumann", "braun", "zimmermann", "kruger", "hartmann", "lange", "werner", "krause",
    "lehmann", "kaiser", "fuchs", "peters", "jung", "vogel", "roth", "frank", "berg", "haas",
)
_DOMAINS = ("example.com", "example.org", "example.net", "mail.example.com")


def store_count(orders: int) -> int:
    """How many stores an estate of `orders` orders has: at least a dozen, at most MAX_STORES."""
    return min(MAX_STORES, max(12, orders // ORDERS_PER_STORE))


Line = tuple[str, int, int, str]
"""One order line: SKU, quantity, unit price in cents, tax code."""


class Catalog:
    """Stores, SKUs with prices and tax codes, and customer emails, all fixed by the seed."""

    def __init__(self, seed: int, orders: int, silent_from: int) -> None:
        rng = Random(f"backroom-demo-catalog-{seed}")
        count = store_count(orders)
        self.stores = [f"{number:04d}" for number in range(1, count + 1)]
        # the chain's stores ranked by traffic, whatever the size: a smaller estate has the first
        # `count` of them, in the same order among themselves
        chain = list(range(1, MAX_STORES + 1))
        rng.shuffle(chain)
        by_traffic = sorted(range(count), key=lambda index: chain[index])
        ranks = [0] * count
        for rank, index in enumerate(by_traffic, 1):
            ranks[index] = rank
        # Zipf-like traffic: a few flagship stores sell far more than the long tail
        self._store_cum = list(itertools.accumulate(1.0 / rank**0.8 for rank in ranks))
        # the flagship is the store that goes offline: the busiest, so its gap shows
        self.offline_store = self.stores[by_traffic[0]]
        self.runner_up = self.stores[by_traffic[1]]
        # a busy store whose uplink is down at the end: nothing of it is heard from silent_from on
        self.silent_store = self.stores[by_traffic[2]]
        self.silent_from = silent_from
        self.skus = [
            f"{_CATEGORIES[index % 7]}-{10_000 + index:05d}-{_SIZES[index * 7 % 10]}"
            for index in range(SKU_COUNT)
        ]
        self.price_cents = [rng.randrange(4, 150) * 100 + rng.choice((99, 49, 0, 95))
                            for _ in range(SKU_COUNT)]
        self.tax_codes = [_TAX_CODES[0] if rng.random() < 0.8 else rng.choice(_TAX_CODES[1:])
                          for _ in range(SKU_COUNT)]
        self.customers = max(300, orders // 2)

    def store(self, rng: Random, heard_at: int) -> str:
        """A store, busy ones more often, whose uplink is up at `heard_at`."""
        index = bisect(self._store_cum, rng.random() * self._store_cum[-1])
        if self.stores[index] == self.silent_store and heard_at >= self.silent_from:
            index = (index + 1) % len(self.stores)  # its neighbour: one draw, as for any store
        return self.stores[index]

    def sku_index(self, rng: Random) -> int:
        """A SKU position, bestsellers more often."""
        return int(SKU_COUNT * rng.random() ** 2.5)

    def email(self, rng: Random) -> str:
        """A customer's email; regulars come back more often."""
        index = int(self.customers * rng.random() ** 1.6)
        first = _FIRST[index % len(_FIRST)]
        last = _LAST[index // len(_FIRST) % len(_LAST)]
        suffix = index // (len(_FIRST) * len(_LAST)) or ""
        return f"{first}.{last}{suffix}@{_DOMAINS[index % len(_DOMAINS)]}"

    def basket(self, rng: Random) -> list[Line]:
        """One to three lines with distinct SKUs."""
        lines: list[Line] = []
        for _ in range(1 + (rng.random() < 0.35) + (rng.random() < 0.15)):
            index = self.sku_index(rng)
            sku = self.skus[index]
            if all(sku != line[0] for line in lines):
                quantity = 1 if rng.random() < 0.8 else 2
                lines.append((sku, quantity, self.price_cents[index], self.tax_codes[index]))
        return lines


def launch_line(channel: str) -> Line:
    """The launch SKU as one unit, at the price that channel charges."""
    cents = LAUNCH_POS_CENTS if channel == "pos" else LAUNCH_WEB_CENTS
    return (LAUNCH_SKU, 1, cents, "VAT-STD")
