"""Fitted models and parsed inputs of the Excel functions, cached on a hash of their inputs.

Excel recalculates a function whenever any argument cell changes, and the Function Wizard
calls it on every keystroke. Fitting BG/NBD or Pareto/NBD on thousands of customers takes
most of a second, so:

- a fitted model is kept under a digest of the exact data it was fitted to (model name and the
  bytes of the float arrays): recalculating with unchanged data, or changing only the margin,
  horizon or discount rate of ``CLV_MODEL``, reuses it;
- the RFM summary ``CLV_MODEL`` derives from its three transaction ranges is kept under a digest
  of the cell values as xlwings delivered them.

Both caches are small LRU maps (a handful of entries: one per model per distinct data set);
a failed fit is cached too, so a bad data set does not refit on every recalculation. The
digest is BLAKE2b over the raw bytes (arrays) or the pickled cell values, so equal inputs
give equal keys and any changed cell a different one.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
import operator
import pickle
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import numpy as np

__all__ = ["LRU", "cells_digest", "clear", "digest", "fits", "summaries", "tables"]


class LRU:
    """A small least-recently-used map; ``get_or_make`` stores what ``make`` returns or raises."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._items: OrderedDict[Any, tuple[bool, Any]] = OrderedDict()
        self.hits = self.misses = 0

    def get_or_make(self, key: Any, make: Callable[[], Any]) -> Any:
        if key in self._items:
            self._items.move_to_end(key)
            self.hits += 1
            ok, value = self._items[key]
        else:
            self.misses += 1
            try:
                ok, value = True, make()
            except Exception as exc:  # cached like a result: the same data fails the same way
                ok, value = False, exc
            self._items[key] = (ok, value)
            while len(self._items) > self.size:
                self._items.popitem(last=False)
        if not ok:
            raise value
        return value

    def clear(self) -> None:
        self._items.clear()
        self.hits = self.misses = 0

    def __len__(self) -> int:
        return len(self._items)


def digest(*parts: Any) -> str:
    """A hex digest of arrays (dtype, shape and bytes) and other picklable values."""
    h = hashlib.blake2b(digest_size=20)
    for part in parts:
        if isinstance(part, np.ndarray):
            arr = np.ascontiguousarray(part)
            h.update(f"nd{arr.dtype.str}{arr.shape}".encode())
            h.update(arr.tobytes())
        else:
            h.update(b"py")
            h.update(pickle.dumps(part, protocol=5))
    return h.hexdigest()


def _encode_column(values: list[Any]) -> bytes:
    """Exact bytes of a list of cell values. Plain floats and naive datetimes (what xlwings
    hands over for numbers and dates) take fast paths, tagged so that no two different lists
    encode alike (1.0 and True, a date and a number); anything else is pickled."""
    types = set(map(type, values))
    if types == {float}:
        return b"F" + np.array(values, dtype=float).tobytes()
    if types == {dt.datetime} and set(map(operator.attrgetter("tzinfo"), values)) == {None}:
        import pandas as pd

        try:  # pandas converts datetime objects in compiled code, exactly, in its unit
            index = pd.DatetimeIndex(values)
            return b"D" + index.dtype.str.encode() + index.asi8.tobytes()
        except (ValueError, OverflowError):  # out of pandas' range: the slow exact path
            pass
    return b"P" + pickle.dumps(values, protocol=5)


def cells_digest(*ranges: Any) -> str:
    """A digest of range arguments as xlwings delivered them (lists of rows, or a value)."""
    h = hashlib.blake2b(digest_size=20)
    for rng in ranges:
        if isinstance(rng, list | tuple) and rng and isinstance(rng[0], list | tuple):
            flat = list(itertools.chain.from_iterable(rng))
            shape = (len(rng), len(flat))  # xlwings' ndim=2 rows all have one length
        else:
            flat, shape = [rng], ()
        h.update(f"R{shape}".encode())
        h.update(_encode_column(flat))
    return h.hexdigest()


#: Fitted models by (model, data digest).
fits = LRU(16)
#: RFM summaries of CLV_MODEL by (cells digest, time unit).
summaries = LRU(8)
#: Finished CLV_MODEL tables by (cells digest, every other argument).
tables = LRU(8)


def clear() -> None:
    """Forget every cached fit, summary and table."""
    fits.clear()
    summaries.clear()
    tables.clear()
