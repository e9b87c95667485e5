"""The import graph: imports run only downwards. The composition root is joined to the
features in `function_app.py` alone, `shared/` knows no feature, customer authorisation
is the reset's, and no product module reaches itself through its imports."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("credentials", "reset_password", "reset_batches", "shared")
FEATURES = ("credentials", "reset_password", "reset_batches")
ROOT_MODULES = ("function_app", "composition")


def product_modules() -> dict[str, Path]:
    found = {name: ROOT / f"{name}.py" for name in ROOT_MODULES}
    for package in PACKAGES:
        for path in sorted((ROOT / package).glob("*.py")):
            name = package if path.stem == "__init__" else f"{package}.{path.stem}"
            found[name] = path
    return found


MODULES = product_modules()


# The HTTP layer, and the reset's services beneath it.
ROUTE_LAYER = {
    "credentials.health_route",
    "credentials.rotation",
    "reset_password.audit",
    "reset_password.dependencies",
    "reset_password.request",
    "reset_password.routes",
    "shared.health",
    "shared.http_edge",
}
RESET_SERVICES = (
    "reset_password.caller_policy",
    "reset_password.guard",
    "reset_password.idempotency",
    "reset_password.lookups",
    "reset_password.records",
    "reset_password.service",
)


def imports_of(module: str) -> set[str]:
    """The product modules `module` imports, wherever in the file the import stands."""
    return all_imports_of(module) & set(MODULES)


def all_imports_of(module: str) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(MODULES[module].read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module is not None:
            for alias in node.names:
                submodule = f"{node.module}.{alias.name}"
                found.add(submodule if submodule in MODULES else node.module)
    return found


def test_the_composition_root_is_imported_by_function_app_alone() -> None:
    importers = {module for module in MODULES if "composition" in imports_of(module)}
    assert importers == {"function_app"}


@pytest.mark.parametrize("module", [m for m in MODULES if m.startswith(PACKAGES)])
def test_no_feature_or_shared_module_imports_the_app_or_its_composition(module: str) -> None:
    assert not imports_of(module) & set(ROOT_MODULES)


@pytest.mark.parametrize("module", [m for m in MODULES if m.startswith("shared")])
def test_shared_imports_no_feature(module: str) -> None:
    assert not {m for m in imports_of(module) if m.startswith(FEATURES)}


@pytest.mark.parametrize("module", RESET_SERVICES)
def test_the_resets_services_know_no_route_and_no_http_type(module: str) -> None:
    imported = all_imports_of(module)
    assert not imported & ROUTE_LAYER
    assert not {name for name in imported if name.startswith("azure.functions")}


def test_no_product_module_reaches_itself_through_its_imports() -> None:
    graph = {module: imports_of(module) for module in MODULES}
    cycles: list[list[str]] = []

    def visit(module: str, path: list[str]) -> None:
        for imported in sorted(graph[module]):
            if imported in path:
                cycles.append([*path[path.index(imported) :], imported])
            elif imported not in done:
                visit(imported, [*path, imported])
        done.add(module)

    done: set[str] = set()
    for module in sorted(graph):
        if module not in done:
            visit(module, [module])
    assert cycles == []


def test_customer_authorisation_is_the_resets_and_caller_authentication_is_shared() -> None:
    caller_auth = importlib.import_module("shared.caller_auth")
    policy = importlib.import_module("reset_password.caller_policy")
    assert hasattr(caller_auth, "CallerTokenValidator")
    for name in ("CustomerPolicy", "CustomerAccess", "NOT_YOUR_CUSTOMER"):
        assert not hasattr(caller_auth, name), name
        assert hasattr(policy, name), name
