"""The connector recipes show requests the function takes and codes it answers: every body
is JSON of the request's fields, every answer example parses, every code a recipe branches
on is one of the function's, and the Power Automate recipe turns secure inputs and outputs
on."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from reset_password.models import ResetPasswordBody
from shared.problems import PROBLEMS

CONNECTOR = Path(__file__).resolve().parents[2] / "infra" / "connector"
RECIPES = sorted(CONNECTOR.glob("recipe-*.md"))
_HTTP_BLOCK = re.compile(r"```http\n(.*?)```", re.DOTALL)
_JSON_BLOCK = re.compile(r"```json\n(.*?)```", re.DOTALL)
_CODE = re.compile(r"`([a-z]+(?:_[a-z]+)+)`")


def body_fields() -> set[str]:
    return {field.alias or name for name, field in ResetPasswordBody.model_fields.items()}


def test_there_is_a_recipe_for_power_automate_and_for_servicenow() -> None:
    assert [p.name for p in RECIPES] == ["recipe-power-automate.md", "recipe-servicenow.md"]


@pytest.mark.parametrize("recipe", RECIPES, ids=lambda p: p.name)
def test_each_request_body_is_json_of_the_requests_fields(recipe: Path) -> None:
    blocks = _HTTP_BLOCK.findall(recipe.read_text(encoding="utf-8"))
    assert blocks
    for block in blocks:
        request_line = block.splitlines()[0]
        assert re.fullmatch(r"POST /api/customers/\S+/users/\S+/resetpassword", request_line)
        body = json.loads(block.split("\n\n", 1)[1])
        assert set(body) <= body_fields(), set(body)
        if "delivery" in body:
            assert "password" not in body and "Idempotency-Key" not in block


@pytest.mark.parametrize("recipe", RECIPES, ids=lambda p: p.name)
def test_every_code_a_recipe_branches_on_is_one_the_function_answers(recipe: Path) -> None:
    rows = [
        line for line in recipe.read_text(encoding="utf-8").splitlines() if line.startswith("|")
    ]
    codes = {code for row in rows for code in _CODE.findall(row)}
    known = {problem.code for problem in PROBLEMS.values()}
    assert codes
    assert codes <= known, codes - known


@pytest.mark.parametrize("recipe", RECIPES, ids=lambda p: p.name)
def test_each_json_example_parses(recipe: Path) -> None:
    for block in _JSON_BLOCK.findall(recipe.read_text(encoding="utf-8")):
        text = block.strip()
        json.loads(text if text.startswith(("{", "[")) else "{" + text + "}")


def test_power_automate_secures_the_actions_inputs_and_outputs() -> None:
    text = (CONNECTOR / "recipe-power-automate.md").read_text(encoding="utf-8")
    [snippet] = [b for b in _JSON_BLOCK.findall(text) if "secureData" in b]
    setting = json.loads("{" + snippet.strip() + "}")
    assert setting["runtimeConfiguration"]["secureData"]["properties"] == ["inputs", "outputs"]
    assert "body('Reset_password')?['code']" in text
