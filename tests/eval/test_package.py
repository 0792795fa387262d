"""``v1d3.eval``'s own names: each the object its module defines, loaded on first use."""

from __future__ import annotations

import importlib

import pytest

import v1d3.eval


@pytest.mark.parametrize("name", v1d3.eval.__all__)
def test_every_package_name_is_its_modules_object(name: str) -> None:
    value = getattr(v1d3.eval, name)
    home = importlib.import_module(f"v1d3.eval.{v1d3.eval._HOME[name]}")
    assert value is getattr(home, name)


def test_an_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no attribute 'Nothing'"):
        _ = v1d3.eval.Nothing  # type: ignore[attr-defined]
    assert not hasattr(v1d3.eval, "Nothing")
