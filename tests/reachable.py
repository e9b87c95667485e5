"""What an object keeps alive: every object reachable from it, the way the garbage
collector sees it, for specs that say what a long-lived object must not hold."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from types import (
    BuiltinFunctionType,
    FrameType,
    FunctionType,
    ModuleType,
    TracebackType,
)

# Far more than a cache of a few thousand names holds: reaching it means the walk left
# the data for the program (a module, say) and the spec would prove nothing.
LIMIT = 2_000_000


def reachable(root: object) -> Iterator[object]:
    """`root` and everything it references, directly or not, each once.

    The walk stops at the program: modules and classes, and a function's globals (what
    a module defines is not what an object holds). A function's closure and defaults are
    data, and are followed.
    """
    seen = {id(root)}
    todo = [root]
    while todo:
        obj = todo.pop()
        yield obj
        if isinstance(obj, ModuleType | type | BuiltinFunctionType):
            continue
        if isinstance(obj, FunctionType):
            children: list[object] = [obj.__closure__, obj.__defaults__, obj.__kwdefaults__]
        else:
            children = gc.get_referents(obj)
        for child in children:
            if id(child) not in seen:
                seen.add(id(child))
                todo.append(child)
        assert len(seen) < LIMIT, "the walk reached far more than one object holds"


def frames_and_text(root: object, text: str) -> list[str]:
    """What `root` keeps alive that it must not: frames, tracebacks, and any string or
    bytes containing `text`. Empty when it keeps none."""
    found: list[str] = []
    needle = text.encode()
    for obj in reachable(root):
        if isinstance(obj, FrameType | TracebackType):
            found.append(type(obj).__name__)
        elif (isinstance(obj, str) and text in obj) or (
            isinstance(obj, bytes | bytearray) and needle in obj
        ):
            found.append(f"a {type(obj).__name__} holding the text")
    return found
