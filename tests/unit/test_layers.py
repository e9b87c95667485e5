"""The import graph: imports run only downwards, layer by layer. The composition root is
joined to the features in `function_app.py` alone, `shared/` knows no feature and holds
only what two parts or more use, customer authorisation is the reset's, and no product
module reaches itself through its imports."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

from tests.unit.helpers import MODULES, PACKAGES, ROOT, ROOT_MODULES, syntax_tree

FEATURES = ("credentials", "reset_password", "reset_batches", "secret_links")

# The layers, lowest first. A module may import its own layer and those below, never one
# above: function_app -> composition -> routes -> services -> clients -> shared.
LAYERS = ("shared", "clients", "services", "routes", "composition", "app")
_PLACED: dict[str, tuple[str, ...]] = {
    "app": ("function_app",),
    "composition": ("composition",),
    # What the host calls (HTTP routes, timers), what they parse, render and audit, and
    # the dependencies they are handed.
    "routes": (
        "credentials.daily_checks",
        "credentials.dependencies",
        "credentials.health_route",
        "credentials.rotation",
        "reset_batches.dependencies",
        "reset_batches.errors",
        "reset_batches.request",
        "reset_batches.routes",
        "reset_batches.status",
        "reset_batches.step",
        "reset_batches.worker",
        "reset_password.audit",
        "reset_password.dependencies",
        "reset_password.request",
        "reset_password.routes",
        "secret_links.page",
        "secret_links.routes",
        "worker.liveness",
    ),
    # What a feature does, and the rules and records it does it with; the worker's
    # start-up report of the settings.
    "services": (
        "credentials.access_token",
        "credentials.checks",
        "credentials.derived_key",
        "credentials.exchange",
        "credentials.health",
        "credentials.health_records",
        "credentials.history",
        "credentials.partner_center_tokens",
        "credentials.probe",
        "credentials.renewal",
        "credentials.secret_cache",
        "credentials.tenant_tokens",
        "reset_batches.accept",
        "reset_batches.links",
        "reset_batches.messages",
        "reset_batches.records",
        "reset_password.caller_policy",
        "reset_password.delivery",
        "reset_password.generated_password",
        "reset_password.guard",
        "reset_password.idempotency",
        "reset_password.lookups",
        "reset_password.models",
        "reset_password.names",
        "reset_password.password_policy",
        "reset_password.records",
        "reset_password.service",
        "worker.startup",
    ),
    # What a feature (or the worker) sends to a service upstream and reads back: the
    # clients, and the values and errors they carry.
    "clients": (
        "credentials.grant",
        "credentials.grant_answer",
        "credentials.key_vault",
        "credentials.outcome_table",
        "reset_batches.queue",
        "reset_batches.store",
        "reset_password.gdap",
        "reset_password.graph",
        "reset_password.partner_center",
        "reset_password.tenant_discovery",
        "secret_links.crypto",
        "secret_links.errors",
        "secret_links.store",
        "worker.http",
        "worker.log_export",
        "worker.telemetry",
    ),
}


def layer_of(module: str) -> str:
    """A module's layer: as placed above; every shared module, and a package's
    `__init__` (it imports nothing), at the bottom."""
    for layer, modules in _PLACED.items():
        if module in modules:
            return layer
    if module.startswith("shared.") or module in PACKAGES:
        return "shared"
    raise AssertionError(f"{module}: place it in a layer in {__file__}")


# The HTTP layer (and the shared edge every route answers through), and the reset's
# services beneath it.
ROUTE_LAYER = {module for module in MODULES if layer_of(module) == "routes"} | {"shared.http_edge"}
RESET_SERVICES = tuple(
    module
    for module in MODULES
    if module.startswith("reset_password.") and layer_of(module) == "services"
)


def imports_of(module: str) -> set[str]:
    """The product modules `module` imports, wherever in the file the import stands."""
    return all_imports_of(module) & set(MODULES)


def all_imports_of(module: str) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(syntax_tree(MODULES[module])):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module is not None:
            for alias in node.names:
                submodule = f"{node.module}.{alias.name}"
                found.add(submodule if submodule in MODULES else node.module)
    return found


@pytest.mark.parametrize("module", sorted(MODULES))
def test_no_module_imports_one_of_a_higher_layer(module: str) -> None:
    rank = LAYERS.index(layer_of(module))
    above = {imported for imported in imports_of(module) if LAYERS.index(layer_of(imported)) > rank}
    assert above == set()


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


# --- shared/ holds only what two parts or more use -------------------------------------

# The parts of the project that use code: each feature package, the worker's package,
# and the two that are never deployed (the operator commands in ops/, the emulators and
# tools in dev/). The app's root (function_app.py, composition.py) is no user: it wires
# every part, and a module it imports only to hand on serves the one part it is handed
# to. Nor are the tests: a module only a spec uses belongs with the spec.
NON_DEPLOYED_PARTS = ("ops", "dev")


def part_of(path: Path) -> str:
    return path.relative_to(ROOT).parts[0]


def users_of_shared() -> dict[str, set[str]]:
    """The parts that use each shared module: a part uses it when one of its modules
    imports it, or imports a shared module that uses it (settings reads the role table
    on behalf of every part that reads the settings)."""
    shared = {module for module in MODULES if module.startswith("shared.")}
    files = [
        path for name, path in MODULES.items() if name not in shared and name not in ROOT_MODULES
    ]
    for part in NON_DEPLOYED_PARTS:
        files += [p for p in (ROOT / part).rglob("*.py") if "node_modules" not in p.parts]
    users: dict[str, set[str]] = {module: set() for module in shared}
    for path in files:
        for imported in imported_modules(path) & shared:
            users[imported].add(part_of(path))
    changed = True
    while changed:
        changed = False
        for module in shared:
            for imported in imports_of(module) & shared:
                if not users[module] <= users[imported]:
                    users[imported] |= users[module]
                    changed = True
    return users


def imported_modules(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(syntax_tree(path)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module is not None:
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
            found.add(node.module)
    return found


USERS_OF_SHARED = users_of_shared()


@pytest.mark.parametrize("module", sorted(USERS_OF_SHARED))
def test_each_shared_module_serves_two_parts_or_more(module: str) -> None:
    assert len(USERS_OF_SHARED[module]) >= 2, USERS_OF_SHARED[module]
