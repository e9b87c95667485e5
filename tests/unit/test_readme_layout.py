"""The README's code layout is the code's: it names every product module, and every
module path the README names exists."""

from __future__ import annotations

import re

import pytest

from tests.unit.helpers import MODULES, ROOT

README = (ROOT / "README.md").read_text(encoding="utf-8")
LAYOUT = README[README.index("### Code layout") : README.index("## The API")]
# `shared/upstream.py`, `dev/emulators/identity.py`: a path from the repository's root.
NAMED_PATHS = sorted(set(re.findall(r"`((?:[a-z_]+/)+[a-z_]+\.py)`", README)))


@pytest.mark.parametrize(
    "module", sorted(m for m in MODULES if "." in m and not m.endswith("__init__"))
)
def test_the_layout_names_every_product_module(module: str) -> None:
    package, name = module.rsplit(".", 1)
    # A row names a module by its path, or by its name among its package's modules.
    assert f"`{package}/{name}.py`" in LAYOUT or f"`{name}.py`" in LAYOUT


@pytest.mark.parametrize("path", NAMED_PATHS)
def test_every_module_path_the_readme_names_exists(path: str) -> None:
    assert (ROOT / path).is_file()
