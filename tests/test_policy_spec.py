"""Policies written with their parameters: parsing, the written form, and errors that name the
part that is wrong."""

from __future__ import annotations

import pytest

from v1d3.errors import ConfigError
from v1d3.policy_spec import format_name, parse_name, parse_policy, policy_label, split_top


def test_names_and_parameters_read_back_in_their_written_form() -> None:
    assert parse_name("distance") == ("distance", {})
    name, params = parse_name(" v1d3[omega=.5, ensemble_every_s=1800, parents=(7,6), start=zero]")
    assert name == "v1d3"
    assert params == {"omega": 0.5, "ensemble_every_s": 1800, "parents": (7, 6), "start": "zero"}
    written = format_name(name, params)
    assert written == "v1d3[ensemble_every_s=1800,omega=0.5,parents=(7,6),start=zero]"
    assert parse_name(written) == (name, params)
    # one name however the parameters were ordered; a one-element tuple keeps its comma
    assert format_name("v1d3", {"omega": 0.5, "lr": 0.01}) == "v1d3[lr=0.01,omega=0.5]"
    assert format_name(*parse_name("v1d3[parents=(7,)]")) == "v1d3[parents=(7,)]"
    assert parse_name(format_name("v1d3", {"parents": (7,)}))[1] == {"parents": (7,)}
    assert parse_name("x[a=true,b=None,c=-1e-3,d='two words']")[1] == {
        "a": True, "b": None, "c": -1e-3, "d": "two words"
    }  # fmt: skip
    assert parse_name(format_name("x", {"d": "two words", "e": "true"}))[1] == {
        "d": "two words", "e": "true"
    }  # fmt: skip


def test_pairs_split_outside_brackets_only() -> None:
    assert split_top("a[x=1,y=(2,3)],b", ",") == ["a[x=1,y=(2,3)]", "b"]
    assert split_top("a[m='x,y/z.pt'],b", ",") == ["a[m='x,y/z.pt']", "b"]
    assert parse_policy("cvnet[model='a,b.pt']/stay")[1] == {"model": "a,b.pt"}
    assert parse_policy("v1d3[omega=0.5]/value[beta=5]") == (
        "v1d3", {"omega": 0.5}, "value", {"beta": 5}
    )  # fmt: skip
    assert parse_policy("cvnet") == ("cvnet", {}, "stay", {})
    assert policy_label("v1d3", {"omega": 0.5}, "stay", {}) == "v1d3[omega=0.5]/stay"
    # a labelled policy is shown by its name: its parameters come from the study
    assert format_name("kdd-agent:team", {"path": "/x"}) == "kdd-agent:team"


@pytest.mark.parametrize(
    "text, message",
    [
        ("v1d3[omega=0.5", "not closed"),
        ("v1d3[model='x.pt]", "not closed"),
        ("v1d3]", "unbalanced"),
        ("v1d3[omega]", "expected name=value"),
        ("v1d3[omega=1,omega=2]", "given twice"),
        ("v1d3[omega=__import__('os')]", "parameter 'omega'"),
        ("v1d3[x={1: 2}]", "parameter 'x'"),
        ("v1d3[omega=1e999]", "expected a finite number"),
        ("bad name", "expected a name"),
        ("a/b/c", "expected dispatch/reposition"),
    ],
)
def test_bad_specs_name_what_is_wrong(text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_policy(text)
