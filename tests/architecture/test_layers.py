"""The layout shows the layers: nothing below imports anything above.

    workbench/        tools on top: demo data, data generator, benchmark, query analysis
    reports/ imports/ sales/ changes/ webhooks/   capabilities over the entities (reports, imports, distributor
                                                  sales, the change feed, webhooks)
    organizations/ contacts/ products/ opportunities/ interactions/ samples/ tasks/   the entity apps
    crm/              the core every app builds on

An import (static or `import_module("…")` with a literal) from a layer into one above it fails here,
without exceptions. (The core refers to an app's model by string where it must, as the book's foreign key
to organizations does, and to an app's routes by module name in crm/urls.py.)
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ENTITY_APPS = ("organizations", "contacts", "products", "opportunities", "interactions", "samples", "tasks")
LAYERS: dict[str, int] = {
    "crm": 0,
    **dict.fromkeys(ENTITY_APPS, 1),
    "reports": 2,
    "imports": 2,
    "sales": 2,
    "changes": 2,
    "webhooks": 2,
    "workbench": 3,
}


def imported_packages(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
        elif (
            isinstance(node, ast.Call)
            and getattr(node.func, "id", getattr(node.func, "attr", None)) == "import_module"
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            names.add(node.args[0].value.split(".")[0])
    return names


def upward_imports() -> set[tuple[str, str]]:
    found = set()
    for package, layer in LAYERS.items():
        for path in sorted((ROOT / package).rglob("*.py")):
            relative = path.relative_to(ROOT).as_posix()
            for imported in imported_packages(path):
                if LAYERS.get(imported, -1) > layer:
                    found.add((relative, imported))
    return found


def test_no_layer_imports_one_above_it() -> None:
    assert sorted(upward_imports()) == [], "imports from a lower layer into a higher one"


def test_the_core_names_the_apps_routes_only_by_string() -> None:
    from crm import urls

    assert set(urls.API_ROUTE_MODULES) == {f"{app}.urls" for app in ENTITY_APPS}
    assert not {"organizations", "contacts", "products", "opportunities", "interactions"} & imported_packages(
        ROOT / "crm" / "urls.py"
    )


def import_graph() -> str:
    """The picture in docs/architecture.md: which package imports which (Mermaid), by layer."""
    edges: set[tuple[str, str]] = set()
    for package in LAYERS:
        for path in (ROOT / package).rglob("*.py"):
            edges.update((package, imported) for imported in imported_packages(path) if imported in LAYERS)
    lines = ["flowchart BT"]
    names = {0: "core", 1: "entity apps", 2: "reports and imports", 3: "tools"}
    for layer, name in names.items():
        members = [package for package, at in LAYERS.items() if at == layer]
        lines += [f'  subgraph L{layer}["{name}"]', *(f"    {m}" for m in members), "  end"]
    lines += [f"  {a} --> {b}" for a, b in sorted(edges) if a != b]
    return "\n".join(lines)


def test_the_picture_of_imports_in_the_docs_is_current() -> None:
    text = (ROOT / "docs" / "architecture.md").read_text()
    drawn = text.split("```mermaid\n", 1)[1].split("\n```", 1)[0]
    assert drawn == import_graph(), (
        "docs/architecture.md: paste tests.architecture.test_layers.import_graph()"
    )
    assert not any(line.startswith("  crm -->") for line in drawn.splitlines())
