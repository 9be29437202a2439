"""Seeding: each app registers how it loads `fixtures/` (idempotently) and how it makes demo data.

    seeding.register_fixture_loader("forum.categories", load_categories, order=20)
    seeding.register_demo(make_demo_posts, order=30)

`manage.py seed` runs every loader (run twice = same rows: loaders upsert by natural key);
`--demo` runs the demo makers after them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

FixtureLoader = Callable[[], int]  # returns how many rows it created or updated
DemoMaker = Callable[["DemoContext"], None]


@dataclass
class DemoContext:
    size: int  # the scale asked for on the command line
    progress: Callable[..., object]  # tqdm-like factory: progress(iterable, desc=..., total=...)
    stdout: object


_loaders: list[tuple[int, str, FixtureLoader]] = []
_demos: list[tuple[int, str, DemoMaker]] = []


def register_fixture_loader(name: str, loader: FixtureLoader, *, order: int = 50) -> None:
    if all(n != name for _, n, _ in _loaders):
        _loaders.append((order, name, loader))


def register_demo(name: str, maker: DemoMaker, *, order: int = 50) -> None:
    if all(n != name for _, n, _ in _demos):
        _demos.append((order, name, maker))


def fixture_loaders() -> list[tuple[str, FixtureLoader]]:
    return [(n, f) for _, n, f in sorted(_loaders, key=lambda t: (t[0], t[1]))]


def demo_makers() -> list[tuple[str, DemoMaker]]:
    return [(n, f) for _, n, f in sorted(_demos, key=lambda t: (t[0], t[1]))]
