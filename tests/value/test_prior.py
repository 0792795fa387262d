"""The prior correction: the offline values plus a table by hour and cell, its file refused when
it is not one, and the city it was learned on checked."""

from __future__ import annotations

import numpy as np
import pytest

from v1d3.errors import ModelError
from v1d3.geo.city import h3_city
from v1d3.value.corrections import hour_end_corrections
from v1d3.value.prior import PriorCorrectedValue, load_prior, save_prior
from value_fixtures import CellValue, three_cell_city


def _table() -> np.ndarray:
    t = np.zeros((24, 3))
    t[7] = [1.0, -2.0, 0.5]  # 7:00-8:00
    t[23] = [4.0, 4.0, 4.0]
    return t


def test_the_prior_adds_the_hour_of_the_state_and_nothing_from_midnight():
    city = three_cell_city()
    v = PriorCorrectedValue(CellValue([10.0, 20.0, 30.0]), _table(), city.labels, scale=0.5)
    v.bind(city, 2)
    cell = np.array([0, 1, 2, 1, 0, 2])
    t = np.array([7 * 3600.0, 7.5 * 3600.0, 7.99 * 3600.0, 8 * 3600.0, 23.9 * 3600.0, 86_400.0])
    got = v.value(cell, np.zeros(6), np.zeros(6), t)
    np.testing.assert_allclose(got, [10.5, 19.0, 30.25, 20.0, 12.0, 0.0])


def test_a_prior_learned_on_another_city_is_refused():
    city = three_cell_city()
    other = h3_city("other", list(city.labels[:2]))
    v = PriorCorrectedValue(CellValue([1.0, 2.0]), np.zeros((24, 2)), other.labels, source="p.npz")
    with pytest.raises(ModelError, match="p.npz: learned on a city of 2 cells, this one has 3"):
        v.bind(city, 0)
    with pytest.raises(ModelError, match="24 x 3"):
        PriorCorrectedValue(CellValue([1.0, 2.0, 3.0]), np.zeros((12, 3)), city.labels)


def test_the_file_round_trips_and_bad_files_are_refused_in_one_line(tmp_path):
    city = three_cell_city()
    path = tmp_path / "v1d3-prior.npz"
    save_prior(path, _table(), city.labels, days=8, model_sha256="ab" * 32)
    got = load_prior(path)
    np.testing.assert_array_equal(got.prior, _table())
    assert got.labels == city.labels and got.days == 8 and got.model_sha256 == "ab" * 32
    assert [p.name for p in tmp_path.iterdir()] == ["v1d3-prior.npz"]  # no temporary left
    junk = tmp_path / "junk.npz"
    junk.write_bytes(b"not a zip")
    with pytest.raises(ModelError, match="junk.npz: not a prior correction file"):
        load_prior(junk)
    pickled = tmp_path / "pickled.npz"  # an object array would need unpickling: never done
    with open(pickled, "wb") as f:
        np.savez(f, prior=np.array([{"a": 1}], dtype=object), cell_labels=np.array(["a"]), days=1)
    with pytest.raises(ModelError, match="pickled.npz"):
        load_prior(pickled)
    bad = tmp_path / "nan.npz"
    save_prior(bad, np.full((24, 3), np.nan), city.labels, days=1, model_sha256="")
    with pytest.raises(ModelError, match="finite 24 x 3"):
        load_prior(bad)


def test_hour_end_corrections_take_the_last_recording_of_each_hour():
    t = np.array([0.0, 1800.0, 3600.0, 3600.0, 5400.0])
    corr = np.arange(5.0)[:, None] * np.ones((1, 2))
    out = hour_end_corrections(t, corr)
    np.testing.assert_array_equal(out[0], [3.0, 3.0])  # at 1:00, just before the ensemble step
    np.testing.assert_array_equal(out[1], [4.0, 4.0])
    assert np.isnan(out[2:]).all()
