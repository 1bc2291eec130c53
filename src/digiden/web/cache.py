"""Answers built once per (database, data version, day) in each process: the national
dashboard's body and the KPI list's JSON, which every reader gets alike and which only a write
or the next day can change.

Every committing write replaces the data version in its own transaction (store/dataversion.py),
so the key is read *before* the data: an entry may be newer than its key, never older. Each
service call reads in a transaction of its own, so a value is kept only if the key is still the
same after it was built (no write committed meanwhile); otherwise it is answered and dropped.
Requests that arrive together after a write build it once; the others wait and find it.

Nothing of the reader may go into a value kept here (no principal, CSRF token or path): the
callers build them without the request. Memory is bounded: at most ``entries`` values per
cache, all dropped when it is full (a reader cycling through filters only makes it rebuild)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from datetime import date
from typing import Generic, TypeVar

from digiden.services.uow import UnitOfWork
from digiden.store import dataversion
from digiden.store.db import engine_key

T = TypeVar("T")


def _key(uow: UnitOfWork, today: date, extra: tuple[Hashable, ...]) -> tuple[Hashable, ...] | None:
    with uow.for_reading() as r:
        token = dataversion.current(r.session)
        return None if token is None else (engine_key(r.session), token, today, *extra)


class PerDataVersion(Generic[T]):
    def __init__(self, entries: int) -> None:
        self._values: dict[tuple[Hashable, ...], T] = {}
        self._lock = threading.Lock()
        self._entries = entries

    def get(self, uow: UnitOfWork, today: date, build: Callable[[], T], *extra: Hashable) -> T:
        """The value for this data, day and ``extra``, built by ``build()`` when not kept."""
        key = _key(uow, today, extra)   # before the data: an entry may be newer, never older
        if key is None:                 # no write has ever given the data a version: nothing to key on
            return build()
        hit = self._values.get(key)
        if hit is not None:
            return hit
        with self._lock:
            hit = self._values.get(key)
            if hit is not None:
                return hit
            value = build()
            if _key(uow, today, extra) == key:
                if len(self._values) >= self._entries:
                    self._values.clear()
                self._values[key] = value
        return value
