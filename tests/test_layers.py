"""Layers point one way: the domain knows nothing of the rest, the store and activities
nothing of workflows, workflows nothing of the service, the service nothing of the edges
(API, ops, codec server, worker). A module importing a higher layer fails here, naming the
import; move the shared piece down instead (issue 11)."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.parsing import parse

ROOT = Path(__file__).parents[1]

LAYERS: list[tuple[str, tuple[str, ...]]] = [
    ("domain", ("registration",)),
    (
        "infrastructure",
        ("settings", "serving", "browser", "codec", "codec.keys", "codec.encryption", "metrics"),
    ),
    ("stand-ins", ("simulators",)),
    ("store and activities", ("store", "activities")),
    ("workflows", ("workflows",)),
    ("service", ("service",)),
    (
        "edges",
        (
            "api",
            "console",
            "ops",
            "codec.server",
            "codec.desk",
            "codec.__main__",
            "worker",
            "benchmarks",
        ),
    ),
]
"""Lowest first. A module belongs to the layer of its longest listed prefix."""


def layer_of(module: str) -> int | None:
    best: tuple[int, int] | None = None  # (prefix length, layer)
    for index, (_, prefixes) in enumerate(LAYERS):
        for prefix in prefixes:
            if module == prefix or module.startswith(prefix + "."):
                if best is None or len(prefix) > best[0]:
                    best = (len(prefix), index)
    return None if best is None else best[1]


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports(path: Path) -> list[tuple[int, str]]:
    """Every module `path` imports (at any depth: functions, TYPE_CHECKING blocks), with
    its line; `from package import name` counts as `package.name` when that is a module."""
    found = []
    for node in ast.walk(parse(path)):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
            for alias in node.names:
                candidate = f"{node.module}.{alias.name}"
                if (ROOT / Path(*candidate.split("."))).with_suffix(".py").exists():
                    found.append((node.lineno, candidate))
    return found


def project_modules() -> list[Path]:
    sources = [ROOT / "settings.py", ROOT / "serving.py", ROOT / "browser.py", ROOT / "worker.py"]
    for _, prefixes in LAYERS:
        for prefix in prefixes:
            folder = ROOT / prefix
            if folder.is_dir():
                sources += sorted(folder.rglob("*.py"))
    return sorted(set(sources))


def test_every_project_module_has_a_layer() -> None:
    assert [m for m in map(module_name, project_modules()) if layer_of(m) is None] == []


def test_no_module_imports_a_higher_layer() -> None:
    upward = []
    for path in project_modules():
        own = layer_of(module_name(path))
        assert own is not None
        for line, imported in imports(path):
            theirs = layer_of(imported)
            if theirs is not None and theirs > own:
                upward.append(
                    f"{path.relative_to(ROOT)}:{line} imports {imported} "
                    f"({LAYERS[own][0]} -> {LAYERS[theirs][0]})"
                )
    assert upward == []


def test_the_check_sees_an_upward_import() -> None:
    """The check itself: the domain importing the API would be caught."""
    assert layer_of("registration.messages") == 0
    assert layer_of("codec.server") == len(LAYERS) - 1
    assert layer_of("codec.keys") == 1
    assert layer_of("store.access") == 3 and layer_of("api.deps") == len(LAYERS) - 1
