"""A Parquet export audited in hashed pieces of whole persons (`audit.stream`) gives
exactly the findings and totals of one pass over the whole export, and reports bad input
as that pass does: every bad value by its row in the export, nothing audited."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from audit_helpers import GULOU, A, B, D, nanjing_year, stay, write_parquet, write_roster
from test_synth_export import audited, generate
from typer.testing import CliRunner

from medaid.audit import causes, detail, fields, resettle, stream, summary
from medaid.audit import export as reading
from medaid.audit import roster as rosters
from medaid.cli.main import app
from medaid.policy import model

runner = CliRunner()


Inputs = tuple[Path, rosters.Identities, list[model.Policy], dict[str, object],
               dict[str, str], str]


def _inputs(tmp_path: Path, jurisdiction: str) -> Inputs:
    manifest = generate(tmp_path, jurisdiction, "parquet", persons=300, seed=5)
    versions = model.versions(jurisdiction)
    rounding = versions[-1].spec.rounding
    from medaid.engine import case as contract

    local = contract.parse_local(contract.parse_json(
        (tmp_path / str(manifest["local"])).read_text(encoding="utf-8")), versions)
    med_types = fields.parse_med_types([f"{c}={k}" for c, k in dict(
        manifest["med_types"]).items()])  # type: ignore[call-overload]
    ids = rosters.read_roster(tmp_path / str(manifest["roster"]), versions[-1])
    return tmp_path / str(manifest["export"]), ids, versions, local, med_types, rounding


def _rewritten(export: Path, interleaved: bool) -> Path:
    """The export in row groups of 500 records; `interleaved`: with persons' records
    interleaved (each person's in their order): the first record of every person, then
    every second one, …; no person is one run."""
    t = pq.read_table(export)
    out = export.with_name("rewritten.parquet")
    if not interleaved:
        pq.write_table(t, out, row_group_size=500)
        return out
    person = pc.if_else(pc.equal(pc.utf8_trim_whitespace(t.column("certno")), ""),
                        t.column("psn_no"), t.column("certno")).to_pylist()
    seen: dict[str, int] = {}
    nth = []
    for k in person:
        seen[k] = seen.get(k, -1) + 1
        nth.append(seen[k])
    order = sorted(range(t.num_rows), key=lambda i: (nth[i], i))
    pq.write_table(t.take(pa.array(order)), out, row_group_size=500)
    return out


@pytest.mark.parametrize(("jurisdiction", "grouped"),
                         [("nanjing", True), ("yichun", True), ("nanjing", False)])
def test_pieces_find_exactly_what_one_pass_finds(tmp_path: Path, jurisdiction: str,
                                                 grouped: bool) -> None:
    export, ids, versions, local, med_types, rounding = _inputs(tmp_path, jurisdiction)
    export = _rewritten(export, interleaved=not grouped)
    # one pass, the engine explaining every finding (so both runs explain alike)
    out = resettle.run(reading.read_export(export, med_types), ids, versions, local,
                       explain_limit=None)
    found = causes.findings(out)
    whole = summary.summarise(out, found, rounding)
    one = detail.table(out, found)
    n = len(out.records)
    assert len(found) > 20 and n > 3000

    run = stream.audit(export, ids, versions, local, med_types, rounding, explain=None,
                       partition_records=(n + 3) // 4)
    assert run.pieces == 4 and run.in_place == grouped  # read in place, or split
    assert run.findings.num_rows == one.num_rows
    for name in one.column_names:  # every cell of every finding, in the same order
        assert run.findings.column(name).to_pylist() == one.column(name).to_pylist(), name
    got, want = asdict(run.summary), asdict(whole)
    got.pop("checked"), want.pop("checked")  # the engine's sample is shared among pieces
    assert got == want


def test_streamed_command_finds_exactly_the_injected_errors(tmp_path: Path) -> None:
    manifest = generate(tmp_path, "changzhou", "parquet", persons=300, seed=9)
    injected = {(str(i["setl_id"]), str(i["cause"]), int(i["row"]))
                for i in manifest["injected"]}  # type: ignore[attr-defined]
    assert audited(tmp_path, manifest, "--partition-records", "1000") == injected
    assert not list(tmp_path.glob(".*pieces-*"))  # the pieces are removed


def _cli(tmp_path: Path, export: Path, *extra: str) -> tuple[int, str, str]:
    r = runner.invoke(app, ["audit-payments", str(export), "--roster",
                            str(write_roster(tmp_path / "roster.csv")), "--policy", "nanjing",
                            "--out", str(tmp_path / "f.xlsx"), *extra])
    return r.exit_code, r.stdout, r.stderr


def test_streamed_bad_input_by_row_as_one_pass(tmp_path: Path) -> None:
    rows = nanjing_year()
    rows[3][3] = "S1"  # 李四's stay reuses 张三's: another person (Parquet rows from 1)
    export = write_parquet(tmp_path / "x.parquet", rows)
    for extra in ((), ("--partition-records", "1")):
        code, out, err = _cli(tmp_path, export, *extra)
        assert code == 2 and not (tmp_path / "f.xlsx").exists(), (extra, out)
        assert "第4行 row 4, setl_id 'S1': 结算ID与第1行重复" in err, (extra, err)
    rows = nanjing_year()
    rows[5][5] = "99"  # row 6: no such med_type; the other pieces are only read
    code, out, err = _cli(tmp_path, write_parquet(tmp_path / "y.parquet", rows),
                          "--partition-records", "2")
    assert code == 2 and out == ""
    assert "第6行 row 6, med_type '99': 医疗类别不在医疗救助结算范围内" in err
    assert err.splitlines()[-1].startswith("error: y.parquet: 1 bad value(s) in 1 row(s)")


def test_bad_input_in_pieces_read_in_place_by_row_as_one_pass(tmp_path: Path) -> None:
    year = nanjing_year()
    rows = [*year[:2], year[6], *year[2:6]]  # each person's records one run
    rows[4][3] = "S1"  # row 5, 李四's stay, reuses 张三's setl_id: another piece
    export = tmp_path / "x.parquet"
    pq.write_table(pq.read_table(write_parquet(tmp_path / "t.parquet", rows)), export,
                   row_group_size=1)
    runs = stream.runs_of_persons(export, 7)
    assert runs is not None and [(p.lo, p.hi) for p in runs.pieces] == [
        (0, 3), (3, 4), (4, 5), (5, 7)]  # a piece a person
    code, out, err = _cli(tmp_path, export, "--partition-records", "1")
    assert code == 2 and not (tmp_path / "f.xlsx").exists(), out
    assert "第5行 row 5, setl_id 'S1': 结算ID与第1行重复" in err, err
    rows[4][3] = "S4"
    rows[5][5] = "99"  # row 6: no such med_type; the other pieces are only read
    pq.write_table(pq.read_table(write_parquet(tmp_path / "t.parquet", rows)), export,
                   row_group_size=1)
    code, out, err = _cli(tmp_path, export, "--partition-records", "1")
    assert code == 2 and out == ""
    assert "第6行 row 6, med_type '99': 医疗类别不在医疗救助结算范围内" in err
    assert err.splitlines()[-1].startswith("error: x.parquet: 1 bad value(s) in 1 row(s)")
    rows[5][5] = "11"
    pq.write_table(pq.read_table(write_parquet(tmp_path / "t.parquet", rows)), export,
                   row_group_size=1)
    code, out, err = _cli(tmp_path, export, "--partition-records", "1")
    assert code == 0 and "(4 pieces, one process)" in out, err
    assert "findings: 4" in out


def test_streamed_roster_read_beside_the_export_still_reported_first(tmp_path: Path) -> None:
    """The roster is read on a thread while the export's persons are found: a bad roster
    is reported before a bad export, as when it was read first."""
    from audit_helpers import ROSTER

    bad = [list(r) for r in ROSTER]
    bad[2][2] = "外星人"  # 李四: no such category
    roster = write_roster(tmp_path / "bad-roster.csv", bad)
    export = write_parquet(tmp_path / "x.parquet", nanjing_year())
    no_maf = tmp_path / "no-maf.parquet"
    pq.write_table(pq.read_table(export).drop_columns(["maf_pay"]), no_maf)
    for path in (export, no_maf):  # a good export, then one the runs' pass refuses
        r = runner.invoke(app, ["audit-payments", str(path), "--roster", str(roster),
                                "--policy", "nanjing", "--out", str(tmp_path / "f.xlsx"),
                                "--partition-records", "2"])
        assert r.exit_code == 2 and not (tmp_path / "f.xlsx").exists(), r.stdout
        assert "bad-roster.csv" in r.stderr and "外星人" in r.stderr, r.stderr
        assert "maf_pay" not in r.stderr
    r = runner.invoke(app, ["audit-payments", str(no_maf), "--roster",
                            str(write_roster(tmp_path / "roster.csv")), "--policy", "nanjing",
                            "--out", str(tmp_path / "f.xlsx"), "--partition-records", "2"])
    assert r.exit_code == 2 and "maf_pay" in r.stderr, r.stderr


def test_split_keeps_each_person_whole_and_rows_in_file_order(tmp_path: Path) -> None:
    rows = [stay(f"P{k % 7}", [A, B, D][k % 3], "某", f"S{k}", f"M{k}",
                 f"2023-03-{1 + k % 28:02d} 10:00:00", GULOU, "100", "50", "0")
            for k in range(200)]
    for r in rows[::5]:
        r[1] = " "  # a blank certno: the key is psn_no
    export = write_parquet(tmp_path / "x.parquet", rows)
    sp = stream.split(export, 5, tmp_path)
    seen: dict[str, int] = {}
    total = 0
    for k, piece in enumerate(sp.pieces):
        if not piece:  # no person hashed to it
            continue
        t = pq.read_table(piece)
        got = t.column(stream.ROW).to_pylist()
        assert got == sorted(got)
        total += len(got)
        for cert, psn in zip(t.column("certno").to_pylist(), t.column("psn_no").to_pylist(),
                             strict=True):
            key = cert.strip() or psn
            assert seen.setdefault(key, k) == k, key
    assert total == 200 and sp.records == 200 and sp.bad == []
    assert pa.types.is_int64(pq.read_schema(sp.pieces[0]).field(stream.ROW).type)


@pytest.mark.parametrize("batch", [stream.BATCH_RECORDS, 7])  # 7: runs cross batches
def test_ranges_of_whole_persons_read_in_place(tmp_path: Path, batch: int,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(stream, "BATCH_RECORDS", batch)
    rows = [stay(f"P{k // 9}", [A, B, D][k // 9 % 3], "某", f"S{k}", f"M{k}",
                 f"2023-03-{1 + k % 28:02d} 10:00:00", GULOU, "100", "50", "0")
            for k in range(200)]  # persons of 9 records each, one after the other
    for r in rows[::5]:
        r[1] = " "  # a blank certno: the key is psn_no, so a person is split in two runs
    export = tmp_path / "x.parquet"
    t = pq.read_table(write_parquet(tmp_path / "t.parquet", rows))
    pq.write_table(t, export, row_group_size=25)
    assert stream.runs_of_persons(export, 3) is None
    for r in rows:
        r[1] = ""
    t = pq.read_table(write_parquet(tmp_path / "t.parquet", rows))
    pq.write_table(t, export, row_group_size=150)
    assert stream.runs_of_persons(export, 3) is None  # a row group of 2.25 pieces
    pq.write_table(t, export, row_group_size=25)  # row groups cut persons anywhere
    runs = stream.runs_of_persons(export, 3)
    assert runs is not None
    cuts = [(p.lo, p.hi) for p in runs.pieces]
    # a piece of ≥ 66.7 records ends with a row group (75, 150), and the person it cuts
    assert cuts == [(0, 81), (81, 153), (153, 200)]
    assert runs.piece.tolist() == [0 if k * 9 < 81 else 1 if k * 9 < 153 else 2
                                   for k in range(23)]
    for lo, hi in [*cuts, (0, 200), (24, 26), (25, 50), (61, 62)]:
        got = stream.read_rows(str(export), lo, hi, ["setl_id", "maf_pay"])
        assert got.column("setl_id").to_pylist() == [f"S{k}" for k in range(lo, hi)]
    ids = rosters.read_roster(write_roster(tmp_path / "roster.csv"), model.versions(
        "nanjing")[-1])
    assert [len(r) for r in stream.roster_pieces(ids, 3, runs)] == [0, 0, 0]
    assert np.all(runs.hashes == resettle.text_hashes(pa.array([f"P{k}" for k in range(23)])))


def test_cluster_needs_parquet(tmp_path: Path) -> None:
    csv_export = tmp_path / "x.csv"
    csv_export.write_text(json.dumps([]), encoding="utf-8")
    code, _, err = _cli(tmp_path, csv_export, "--cluster", "local")
    assert code == 2 and "Parquet" in err


@pytest.mark.parametrize("in_place", [False, True])
def test_pieces_on_a_local_dask_cluster(tmp_path: Path, in_place: bool) -> None:
    export = write_parquet(tmp_path / "x.parquet", nanjing_year())
    if in_place:  # each person's records one run, a row group a record: read in place
        year = nanjing_year()
        t = pq.read_table(write_parquet(tmp_path / "t.parquet", [*year[:2], year[6],
                                                                 *year[2:6]]))
        pq.write_table(t, export, row_group_size=1)
    versions = model.versions("nanjing")
    ids = rosters.read_roster(write_roster(tmp_path / "roster.csv"), versions[-1])
    here = stream.audit(export, ids, versions, {}, fields.MED_TYPES, "cumulative",
                        explain=None, partition_records=2)
    there = stream.audit(export, ids, versions, {}, fields.MED_TYPES, "cumulative",
                         explain=None, partition_records=2, cluster=True, workers=1)
    assert there.where.startswith("Dask: 1 workers") and there.in_place == in_place
    assert there.findings.to_pylist() == here.findings.to_pylist()
    assert [r["setl_id"] for r in here.findings.to_pylist()] == (
        ["S2", "S7", "S3", "S4"] if in_place else ["S2", "S3", "S4", "S7"])  # in row order
    assert asdict(there.summary) == asdict(here.summary)
