"""The data-only format of cache entries: what a cache holds is read back without running any code.

A cache restored from shared CI storage is untrusted input, so entries are JSON, and only the types
registered here are rebuilt from it: plain values, tuples, lists, sets, dicts, bytes, paths, the dataclasses
marked :func:`stored` and the enums among their fields. Anything else in an entry makes it a miss.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import types
import typing
from collections.abc import Callable
from enum import Enum
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")

#: Stored dataclasses and enums by name: the only types an entry can rebuild.
_TYPES: dict[str, type] = {}
_FIELDS: dict[type, tuple[str, ...]] = {}

# Containers are lists whose first item says what they were; a plain string, number, bool or None is
# itself. Dataclasses are their field values in order, enums their value.
TUPLE, LIST, SET, FROZENSET, DICT, BYTES, PATH = "t", "l", "s", "f", "d", "b", "p"
_SEQUENCES = {TUPLE: tuple, LIST: list, SET: set, FROZENSET: frozenset}


class Invalid(ValueError):
    """The entry is not something this version wrote."""


def stored(cls: type[T]) -> type[T]:
    """Register a dataclass or an enum as a type cache entries may hold (by its name, which is unique)."""
    name = cls.__name__
    if _TYPES.get(name, cls) is not cls:
        raise TypeError(f"two stored types are named {name}")
    _TYPES[name] = cls
    if dataclasses.is_dataclass(cls):
        _FIELDS[cls] = tuple(f.name for f in dataclasses.fields(cls) if f.init)
    return cls


def dumps(value: object) -> bytes:
    """``value`` as the bytes of an entry; TypeError for a value of a type that is not stored."""
    return json.dumps(_encode(value), ensure_ascii=False, separators=(",", ":")).encode("utf-8", "surrogatepass")


def loads(data: bytes) -> Any:
    """The value ``data`` holds; :class:`Invalid` for anything :func:`dumps` could not have written."""
    try:
        raw = json.loads(data.decode("utf-8", "surrogatepass"), object_pairs_hook=_no_objects)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise Invalid(str(exc)) from None
    try:
        return _decode(raw)
    except (TypeError, ValueError, KeyError, IndexError, RecursionError) as exc:
        raise Invalid(repr(exc)) from None


def _no_objects(pairs: object) -> object:
    raise ValueError("a JSON object where none is written")


def _encode(value: object) -> object:
    if value is None or isinstance(value, (bool, int, float, str)) and not isinstance(value, Enum):
        return value
    kind = type(value)
    if kind is tuple:
        return [TUPLE, *map(_encode, value)]  # type: ignore[arg-type]
    if kind is list:
        return [LIST, *map(_encode, value)]  # type: ignore[arg-type]
    if kind is dict:
        return [DICT, *(_encode(x) for pair in value.items() for x in pair)]  # type: ignore[attr-defined]
    if kind is set or kind is frozenset:
        items = sorted(map(_encode, value), key=repr)  # type: ignore[call-overload]
        return [SET if kind is set else FROZENSET, *items]
    if kind is bytes:
        return [BYTES, base64.b64encode(value).decode("ascii")]  # type: ignore[arg-type]
    if isinstance(value, Path):
        return [PATH, str(value)]
    if _TYPES.get(kind.__name__) is kind:
        if isinstance(value, Enum):
            return ["E:" + kind.__name__, _encode(value.value)]
        return ["D:" + kind.__name__, *(_encode(getattr(value, name)) for name in _FIELDS[kind])]
    raise TypeError(f"a cache entry cannot hold a {kind.__qualname__}")


def _decode(raw: object) -> Any:
    if type(raw) is not list:  # the only other values JSON gives here (objects are refused by the parser)
        return raw
    tag = raw[0]
    sequence = _SEQUENCES.get(tag)
    if sequence is not None:
        return sequence([_decode(x) if type(x) is list else x for x in raw[1:]])
    if tag == DICT:
        items = [_decode(x) if type(x) is list else x for x in raw[1:]]
        if len(items) % 2:
            raise ValueError("a dict with an odd number of items")
        return dict(zip(items[::2], items[1::2]))
    if tag == BYTES:
        return base64.b64decode(raw[1], validate=True)
    if tag == PATH and isinstance(raw[1], str):
        return Path(raw[1])
    if not isinstance(tag, str) or tag[:2] not in ("D:", "E:"):
        raise ValueError(f"unknown tag {tag!r}")
    cls = _TYPES[tag[2:]]
    if tag[0] == "E":
        if not issubclass(cls, Enum):
            raise ValueError(f"{cls.__name__} is not an enum")
        return cls(_decode(raw[1]))
    return _dataclass(cls, raw)


# Decoding knows each stored dataclass's field types: a field of plain values, or a tuple of them, is
# rebuilt without looking at each item (most of an entry's values are such strings and tuples of them).
_Decoder = Callable[[list], Any]  # type: ignore[type-arg]
_DECODERS: dict[type, tuple[_Decoder | None, ...]] = {}
_PLAIN = (str, int, bool, float, type(None))


def _compile(cls: type) -> tuple[_Decoder | None, ...]:
    if cls not in _FIELDS:
        raise ValueError(f"{cls.__name__} is not a stored dataclass")
    try:
        hints = typing.get_type_hints(cls)
    except Exception:  # noqa: BLE001 - a field type that cannot be resolved is decoded by its tags
        hints = {}
    decoders = _DECODERS[cls] = tuple(_decoder_for(hints.get(name)) for name in _FIELDS[cls])
    return decoders


def _decoder_for(hint: object) -> _Decoder | None:
    """A decoder for values of type ``hint`` that knows their shape (None: a plain value, or a type
    this does not know, decoded by its tags). Every decoder falls back to :func:`_decode` on a value
    whose tag is not the one its type writes, so a shape it did not expect is still checked."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin is typing.Union or origin is types.UnionType:
        known = [a for a in args if a is not type(None)]
        return _decoder_for(known[0]) if len(known) == 1 else None  # None is itself, not a list
    if origin is tuple and len(args) == 2 and args[1] is Ellipsis:
        item = _decoder_for(args[0])
        if item is None and args[0] in _PLAIN:
            return _plain_tuple
        if item is not None:
            return lambda raw: tuple([x if type(x) is not list else item(x) for x in raw[1:]]) if raw[0] == TUPLE \
                else _decode(raw)  # fmt: skip
        return None
    if origin is tuple and args and Ellipsis not in args:
        items = [_decoder_for(a) or _decode for a in args]
        return lambda raw: tuple([x if type(x) is not list else d(x) for d, x in zip(items, raw[1:])]) \
            if raw[0] == TUPLE and len(raw) == len(items) + 1 else _decode(raw)  # fmt: skip
    if isinstance(hint, type) and _TYPES.get(hint.__name__) is hint:
        tag = ("E:" if issubclass(hint, Enum) else "D:") + hint.__name__
        if issubclass(hint, Enum):
            return lambda raw: hint(raw[1]) if raw[0] == tag and type(raw[1]) is not list else _decode(raw)
        return lambda raw: _dataclass(hint, raw) if raw[0] == tag else _decode(raw)
    return None


def _dataclass(cls: type, raw: list) -> Any:  # type: ignore[type-arg]
    decoders = _DECODERS.get(cls) or _compile(cls)
    if len(raw) - 1 != len(decoders):
        raise ValueError(f"{cls.__name__} stored with {len(raw) - 1} fields")
    return cls(*[x if type(x) is not list else (d or _decode)(x) for d, x in zip(decoders, raw[1:])])


def _plain_tuple(raw: list) -> tuple:  # type: ignore[type-arg]
    if raw[0] != TUPLE or any(type(x) is list for x in raw):
        return _decode(raw)
    return tuple(raw[1:])
