"""report.html maps the online correction beside the orders when a run recorded one, names the
policy that recorded none when asked for it, and leaves the section out otherwise."""

from __future__ import annotations

from pathlib import Path

import pytest

from v1d3.demand.shocks import EventShock
from v1d3.errors import ConfigError
from v1d3.eval.evaluate import Evaluation, evaluate
from v1d3.eval.report import CorrectionMapConfig, render_report
from v1d3.eval.study import StudyConfig
from value_fixtures import small_cvnet_models, small_cvnet_scenario

EVENT = EventShock(start_h=7.25, end_h=7.75, trips=100, lat=45.0, lng=7.01)
SCENARIO = small_cvnet_scenario(hours=1.0, shocks=(EVENT,))


@pytest.fixture(scope="module")
def study(tmp_path_factory: pytest.TempPathFactory) -> Evaluation:
    models = small_cvnet_models(tmp_path_factory.mktemp("models"))
    grid = StudyConfig.grid(
        ["distance", "v1d3"], weekdays=(2,), seeds=(0,), scenario=SCENARIO, models=str(models)
    )
    return evaluate(grid, tmp_path_factory.mktemp("study") / "s", workers=1, report=False)


def test_the_correction_is_mapped_beside_the_orders(study: Evaluation) -> None:
    rec = next(r for r in study.records if r.policy == "v1d3/stay")
    assert rec.correction is not None and rec.correction.shape[1] == len(rec.cell_labels)
    assert all(r.correction is None for r in study.records if r.policy == "distance/stay")
    page = render_report(study, correction=CorrectionMapConfig(correction_hour=7))
    assert 'id="correction-map"' in page and "<b>v1d3/stay</b>, 07:00–08:00" in page
    assert "--correction-hour 7" in page  # the command regenerates this report
    section = page.split("Online correction and orders")[1].split("<h2>")[0]
    assert section.count('"symbol":"star"') == 2  # the event starred on both panels


def test_a_policy_without_an_online_value_is_named(study: Evaluation) -> None:
    page = render_report(study, correction=CorrectionMapConfig(correction_policy="distance/stay"))
    assert "id='correction-none'" in page and 'id="correction-map"' not in page


def test_no_section_without_corrections(study: Evaluation) -> None:
    plain = [r for r in study.records if r.policy == "distance/stay"]
    study_plain = Evaluation(
        study.study, study.out, study.results, study.summary, study.failures, plain
    )
    page = render_report(study_plain)
    assert "Online correction" not in page and 'id="map"' in page


def test_bad_choices_are_refused(study: Evaluation, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"^correction_hour: expected an hour 0\.\.23"):
        CorrectionMapConfig(correction_hour=24)
    bad = CorrectionMapConfig(correction_policy="nope/stay")
    with pytest.raises(ConfigError, match=r"^correction_policy: 'nope/stay' is not one of"):
        evaluate(study.study, tmp_path / "x", correction=bad)
    assert not (tmp_path / "x").exists()
