"""Read the Bicep templates under infra/ with pycep, for the infrastructure tests.

pycep turns a template into plain JSON-like data: `parameters`, `variables`, `resources`,
`modules`, `outputs`. In that data a quoted string and a bare identifier look the same
(`'api'` and `api` both become "api"), so the helpers that need to tell a literal from a
reference also read pycep's Lark tree, where the two are different tokens.

Runs only in the infra virtualenv (dev/infra_check.py), where pycep is installed.
"""

from __future__ import annotations

import functools
import importlib.util
import json
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

from lark import Token, Tree
from pycep import BicepParser

ROOT = Path(__file__).resolve().parents[2]
INFRA = ROOT / "infra"
MAIN = INFRA / "main.bicep"
PARAMETERS_FILE = INFRA / "main.parameters.json"
HOOKS = INFRA / "hooks"

_IDENTIFIER = re.compile(r"[A-Za-z_]\w*")
_INTERPOLATED_NAME = re.compile(r"\$\{\s*([A-Za-z_]\w*)\s*(\()?")


def bicep_files() -> list[Path]:
    """Every .bicep file under infra/, main.bicep first."""
    others = sorted(p for p in INFRA.rglob("*.bicep") if p != MAIN)
    return [MAIN, *others]


@functools.cache
def _parser() -> BicepParser:
    return BicepParser()


@functools.cache
def parse(path: Path) -> dict[str, Any]:
    """The template as pycep's JSON-like data (cached per file)."""
    result: dict[str, Any] = dict(_parser().parse(file_path=path))
    return result


@functools.cache
def tree(path: Path) -> Tree[Token]:
    """pycep's Lark parse tree of the template (keeps literals and identifiers apart)."""
    result: Tree[Token] = _parser().lark_parser.parse(path.read_text())
    return result


def module_file(name: str) -> Path:
    """The file of module `name` in main.bicep."""
    return INFRA / str(parse(MAIN)["modules"][name]["detail"]["path"])


def symbols(path: Path) -> set[str]:
    """Names a template declares: parameters, variables, resources, modules, outputs."""
    template = parse(path)
    names: set[str] = set()
    for section in ("parameters", "variables", "resources", "modules"):
        names.update(template.get(section, {}))
    return names


def is_reference(path: Path, value: object) -> bool:
    """True when `value` (from pycep's data) is a bare name declared in the template."""
    return isinstance(value, str) and bool(_IDENTIFIER.fullmatch(value)) and value in symbols(path)


def is_literal(path: Path, value: object) -> bool:
    """True when `value` is a constant: a number, a boolean, or a string that names nothing.

    A string with `${...}` counts as a literal only if it interpolates nothing.
    """
    if isinstance(value, bool | int):
        return True
    if isinstance(value, str):
        return not is_reference(path, value) and "${" not in value
    return False


def resource_body(resource: dict[str, Any]) -> dict[str, Any]:
    """A resource's or module's body, looking through an `if (...)` condition."""
    config: dict[str, Any] = resource["config"]
    if "condition" in config and "config" in config:
        inner: dict[str, Any] = config["config"]
        return inner
    return config


def condition(resource: dict[str, Any]) -> Any:
    """A resource's `if (...)` condition, or None when it is always deployed."""
    return resource["config"].get("condition") if "config" in resource["config"] else None


def resources_of_type(resource_type: str) -> Iterator[tuple[Path, str, dict[str, Any]]]:
    """(file, symbolic name, resource) for every declared (not `existing`) resource of a type."""
    for path in bicep_files():
        for name, resource in parse(path).get("resources", {}).items():
            if resource["type"] == resource_type and not resource["existing"]:
                yield path, name, resource


def only_resource(resource_type: str) -> tuple[Path, str, dict[str, Any]]:
    """The single declared resource of a type; fails the test if there are none or several."""
    found = list(resources_of_type(resource_type))
    assert len(found) == 1, f"expected one {resource_type}, found {[n for _, n, _ in found]}"
    return found[0]


def unquote(key: str) -> str:
    """An object key as written, without the quotes pycep keeps on quoted keys."""
    return key[1:-1] if len(key) >= 2 and key[0] == key[-1] == "'" else key


def operator(value: object, kind: str) -> dict[str, Any] | None:
    """The operands of `value` when it is operator `kind` (conditional, property_accessor...)."""
    if isinstance(value, dict) and "operator" in value and value["operator"]["type"] == kind:
        operands: dict[str, Any] = value["operator"]["operands"]
        return operands
    return None


def function(value: object, kind: str) -> dict[str, Any] | None:
    """The parameters of `value` when it is a call of function `kind` (union, concat...)."""
    if isinstance(value, dict) and "function" in value and value["function"]["type"] == kind:
        parameters: dict[str, Any] = value["function"].get("parameters", {})
        return parameters
    return None


def accessor_path(value: object) -> list[str] | None:
    """`a.b.c` as ["a", "b", "c"], or None when `value` is not a plain property chain."""
    if isinstance(value, str):
        return [value]
    operands = operator(value, "property_accessor")
    if operands is None:
        return None
    head, rest = operands["operand_1"], accessor_path(operands["operand_2"])
    if not isinstance(head, str) or rest is None:
        return None
    return [head, *rest]


def identifiers_used(path: Path) -> list[str]:
    """Every bare name the template reads: the head of each expression, never a property name.

    Walks the Lark tree: a `string` node holding a STRING token is an identifier (a quoted
    string is a QUOTED_INTERPOLATION token), except on the right of `.` or `::`. Names inside
    `${...}` interpolations are added; function calls in them are not.
    """
    found: list[str] = []

    def visit(node: Tree[Token] | Token | None, *, property_position: bool = False) -> None:
        if isinstance(node, Token):
            if node.type == "QUOTED_INTERPOLATION":
                found.extend(
                    m.group(1) for m in _INTERPOLATED_NAME.finditer(node) if not m.group(2)
                )
            return
        if node is None:
            return
        if node.data == "string":
            token = node.children[0]
            if isinstance(token, Token) and token.type == "STRING" and not property_position:
                found.append(str(token))
            else:
                visit(token)
            return
        if node.data in ("property_accessor", "nested_resource_accessor"):
            left, right = node.children[0], node.children[-1]
            visit(left, property_position=property_position)
            visit(right, property_position=True)
            return
        if node.data == "operator" and property_position:
            for child in node.children:
                visit(child, property_position=True)
            return
        for child in node.children:
            visit(child)

    visit(tree(path))
    return found


def app_settings() -> dict[str, Any]:
    """The function app's app settings, name -> pycep value, from function.bicep.

    The site's `siteConfig.appSettings` is `concat(...)` of variables that are either arrays
    of {name, value} objects or `cond ? [] : [...]`; both branches are read.
    """
    path, _, site = only_resource("Microsoft.Web/sites")
    variables = parse(path).get("variables", {})
    expression = resource_body(site)["properties"]["siteConfig"]["appSettings"]
    settings: dict[str, Any] = {}

    def collect(value: object) -> None:
        if isinstance(value, str) and value in variables:
            collect(variables[value]["value"])
        elif isinstance(value, list):
            for item in value:
                assert isinstance(item, dict) and set(item) == {"name", "value"}, item
                assert item["name"] not in settings, f"app setting {item['name']} set twice"
                settings[item["name"]] = item["value"]
        elif (operands := function(value, "concat")) is not None:
            for argument in operands.values():
                collect(argument)
        elif (operands := operator(value, "conditional")) is not None:
            collect(operands["true_value"])
            collect(operands["false_value"])
        else:
            raise AssertionError(f"app settings built in a way the tests cannot read: {value!r}")

    collect(expression)
    return settings


def conditional_app_settings() -> dict[str, Any]:
    """App settings that appear only under a condition (`cond ? [] : [...]`), name -> condition."""
    path, _, site = only_resource("Microsoft.Web/sites")
    variables = parse(path).get("variables", {})
    expression = resource_body(site)["properties"]["siteConfig"]["appSettings"]
    arguments = function(expression, "concat")
    names = list(arguments.values()) if arguments is not None else [expression]
    found: dict[str, Any] = {}
    for name in names:
        if not (isinstance(name, str) and name in variables):
            continue
        operands = operator(variables[name]["value"], "conditional")
        if operands is None:
            continue
        for branch in ("true_value", "false_value"):
            for item in operands[branch] or []:
                found[item["name"]] = operands["condition"]
    return found


def parameters_file() -> dict[str, str]:
    """main.parameters.json as parameter name -> value (the azd `${VAR}` reference)."""
    document = json.loads(PARAMETERS_FILE.read_text())
    return {name: entry["value"] for name, entry in document["parameters"].items()}


def azd_variable(value: str) -> str:
    """`${NAME}` -> "NAME"; fails the test for anything else (a literal, a default, two names)."""
    match = re.fullmatch(r"\$\{([A-Z][A-Z0-9_]*)\}", value)
    assert match, f"{value!r} is not a plain azd environment reference"
    return match.group(1)


def decorator(parameter: dict[str, Any], kind: str) -> Any:
    """A parameter's decorator argument (pycep names: `allowed`, `min_value`...), or None."""
    for item in parameter["decorators"]:
        if item["type"] == kind:
            return item.get("argument")
    return None


def module_params(name: str) -> dict[str, Any]:
    """What main.bicep passes to module `name`."""
    params: dict[str, Any] = resource_body(parse(MAIN)["modules"][name])["params"]
    return params


@functools.cache
def load_hook(name: str) -> ModuleType:
    """An azd hook script under infra/hooks, imported as a module (its `main` is not run)."""
    if str(HOOKS) not in sys.path:
        sys.path.insert(0, str(HOOKS))
    spec = importlib.util.spec_from_file_location(f"hook_{name}", HOOKS / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module
