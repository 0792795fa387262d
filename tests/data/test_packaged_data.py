"""The NYC data shipped in ``v1d3/data`` (rebuilt by ``scripts/build_data.py``)."""

from __future__ import annotations

import csv
import hashlib
from importlib.resources import files
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from v1d3.geo.polygons import Zones, load_zones, sample_points_in_zones, zone_of_points
from v1d3.geo.projection import haversine_m

DATA = Path(str(files("v1d3") / "data"))

# Exact sums of n_trips per weekday in pyhailing's trips.csv (Mon..Fri).
TRIP_TOTALS = [17_759_102, 21_894_508, 22_767_240, 23_446_334, 25_065_678]
MANHATTAN_IDS = [
    4, 12, 13, 24, 41, 42, 43, 45, 48, 50, 68, 74, 75, 79, 87, 88, 90, 100, 107, 113, 114,
    116, 120, 125, 127, 128, 137, 140, 141, 142, 143, 144, 148, 151, 152, 158, 161, 162, 163,
    164, 166, 170, 186, 209, 211, 224, 229, 230, 231, 232, 234, 236, 237, 238, 239, 243, 244,
    246, 249, 261, 263,
]  # fmt: skip
# Area-weighted centroids (lng, lat) from taxi_zone_centroids.csv (pyproj, unsimplified).
CENTROID_REF = {
    1: (-74.174002, 40.691830),  # Newark Airport
    4: (-73.976968, 40.723752),  # Alphabet City
    132: (-73.786530, 40.646985),  # JFK Airport
    161: (-73.977698, 40.758028),  # Midtown Center
    246: (-74.004016, 40.753309),  # West Chelsea/Hudson Yards
}
GREEN_SHA256 = "78847a2e0ccb58202eef3337903e696317656815f50423733ad3099dabc58a9d"


@pytest.fixture(scope="module")
def od() -> dict[str, np.ndarray]:
    with np.load(DATA / "manhattan_od.npz", allow_pickle=False) as f:
        return {k: f[k] for k in f.files}


@pytest.fixture(scope="module")
def manhattan() -> Zones:
    return load_zones(DATA / "manhattan_zones.json")


@pytest.fixture(scope="module")
def tlc() -> Zones:
    return load_zones(DATA / "nyc_tlc" / "taxi_zones.json")


def test_od_arrays(od: dict[str, np.ndarray]) -> None:
    assert od["zone_ids"].dtype == np.int16
    assert od["zone_ids"].tolist() == MANHATTAN_IDS
    assert od["trips"].dtype == np.uint16 and od["trips"].shape == (5, 96, 61, 61)
    for k in ("speed_mean_mps", "speed_std_mps"):
        assert od[k].dtype == np.float32 and od[k].shape == (96, 61, 61)
    assert od["speed_observed"].dtype == np.bool_
    assert od["speed_observed"].shape == (96, 61, 61)


def test_trip_totals_exact(od: dict[str, np.ndarray]) -> None:
    totals = od["trips"].sum(axis=(1, 2, 3), dtype=np.int64).tolist()
    assert totals == TRIP_TOTALS
    # Demand peaks in the evening, not at night.
    by_slot = od["trips"].sum(axis=(0, 2, 3), dtype=np.int64)
    assert by_slot[72:80].mean() > 5 * by_slot[16:22].mean()


def test_speeds_plausible(od: dict[str, np.ndarray]) -> None:
    mean, std = od["speed_mean_mps"], od["speed_std_mps"]
    assert np.all(np.isfinite(mean)) and np.all(np.isfinite(std))
    assert mean.min() > 1.0 and mean.max() < 30.0
    assert std.min() > 0.0
    # Typical Manhattan taxi speeds: medians of 3-10 m/s in every slot, std below the mean.
    med = np.median(mean.reshape(96, -1), axis=1)
    assert np.all((med > 3.0) & (med < 10.0))
    assert np.median(std / mean) < 1.0
    assert od["speed_observed"].all()  # the source covers every (slot, pair)


def test_manhattan_zones(manhattan: Zones, od: dict[str, np.ndarray]) -> None:
    assert manhattan.ids.tolist() == od["zone_ids"].tolist()
    assert all(name for name in manhattan.names)
    assert manhattan.names[0] == "Alphabet City"
    w, s, e, n = manhattan.bbox.T
    assert np.all(s >= 40.68) and np.all(n <= 40.89)
    assert np.all(w >= -74.03) and np.all(e <= -73.90)
    assert np.all(manhattan.area_km2 > 0.05) and manhattan.area_km2.sum() == pytest.approx(
        56.0, rel=0.1
    )
    # Each centroid of a convex-ish zone lies in its own zone for most zones.
    own = zone_of_points(manhattan.centroid_lat, manhattan.centroid_lng, manhattan)
    assert np.mean(own == np.arange(len(manhattan))) > 0.9


@pytest.mark.parametrize("zone_id", sorted(CENTROID_REF))
def test_centroids_match_pyproj(zone_id: int, manhattan: Zones, tlc: Zones) -> None:
    lng, lat = CENTROID_REF[zone_id]
    for zones in (tlc, manhattan):
        i = int(zones.index_of(zone_id))
        if i < 0:
            continue
        d = haversine_m(zones.centroid_lat[i], zones.centroid_lng[i], lat, lng)
        assert d < 30.0, (zone_id, float(d))
    assert int(tlc.index_of(zone_id)) >= 0


def test_tlc_zones(tlc: Zones) -> None:
    assert len(tlc) == 260
    missing = sorted(set(range(1, 264)) - set(tlc.ids.tolist()))
    assert missing == [57, 104, 105]
    assert all(r.shape[0] >= 4 and np.array_equal(r[0], r[-1]) for rs in tlc.rings for r in rs)
    w, s, e, n = tlc.bbox.T
    assert w.min() > -74.3 and e.max() < -73.6 and s.min() > 40.4 and n.max() < 41.0
    assert (DATA / "nyc_tlc" / "taxi_zones.json").stat().st_size < 1_500_000


def test_sampling_in_real_zones(manhattan: Zones) -> None:
    idx = np.repeat(np.arange(len(manhattan)), 20)
    lat, lng = sample_points_in_zones(idx, manhattan, np.random.default_rng(0))
    np.testing.assert_array_equal(zone_of_points(lat, lng, manhattan), idx)


def test_tlc_files() -> None:
    pq_path = DATA / "nyc_tlc" / "green_tripdata_2021-03.parquet"
    assert hashlib.sha256(pq_path.read_bytes()).hexdigest() == GREEN_SHA256
    assert pq.ParquetFile(pq_path).metadata.num_rows == 83_827
    with open(DATA / "nyc_tlc" / "taxi_zone_lookup.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [int(r["LocationID"]) for r in rows] == list(range(1, 266))
    assert {r["Borough"] for r in rows if int(r["LocationID"]) in (4, 161)} == {"Manhattan"}


def test_notice_and_licence() -> None:
    notice = (DATA / "NOTICE.md").read_text(encoding="utf-8")
    assert "python scripts/build_data.py" in notice
    assert "Apache-2.0" in notice and "pyhailing" in notice
    assert "Apache License" in (DATA / "LICENSE-pyhailing").read_text(encoding="utf-8")
    total = sum(p.stat().st_size for p in DATA.rglob("*") if p.is_file())
    assert total < 10_000_000
