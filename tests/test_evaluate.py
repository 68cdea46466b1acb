"""``formcheck evaluate``: the labels format, scoring, tables and the command itself."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest

from exercises.eval_scoring import BAD_LABEL, ERROR, OK, SKIPPED, aggregate, check_thresholds, measure, score_clip
from exercises.eval_tables import render_text, write_tables
from exercises.labels import HOLD, LabelsError, find_label_files, read_labels

ROOT = Path(__file__).resolve().parent.parent
SUPPORTED = {"squat": "reps", "plank": "hold", "push_up": "reps"}
HEADER = "file,exercise,reps,hold_s,people,view,start_state,form_notes,confidence,source\n"


def _labels(tmp_path: Path, text: str, name: str = "labels.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


# ----------------------------------------------------------------------------- labels
def test_dev_clip_style_labels_parse_and_extra_columns_are_ignored(tmp_path: Path) -> None:
    path = _labels(tmp_path, HEADER
                   + 'a.mp4,squat,1,,1,side,start_pose,"notes, with a comma",high,somewhere\n'
                   + "b.mp4,plank,,2.57,1,side,start_pose,held,high,x\n"
                   + "c.mp4,jumping_jack,2,,2,front,start_pose,two people,high,x\n"
                   + "d.mp4,Push-Up,1,,1,,,,,\n"
                   + "e.mp4,pushups,2,,1,,,,,\n")
    rows = read_labels(path, supported=SUPPORTED)
    assert [r.kind for r in rows] == ["reps", "hold", "unsupported", "reps", "reps"]
    assert rows[0].reps == (1,) and rows[0].view == "side" and rows[0].faults is None  # no faults column
    assert rows[1].hold_s == (2.57,) and rows[1].expected == (2.57,)
    assert rows[2].exercise == "jumping_jack" and rows[2].problem is None
    assert rows[3].exercise == "push_up" and rows[4].exercise == "push_up"
    assert rows[0].path == tmp_path / "a.mp4" and rows[0].row == 2


def test_faults_per_rep_every_rep_hold_and_unknown(tmp_path: Path) -> None:
    path = _labels(tmp_path, "file,exercise,reps,hold_s,people,view,faults\n"
                   "a.mp4,squat,3,,1,side,rep1:knee_valgus|rep3:too_shallow|rep3:jerky\n"
                   "b.mp4,squat,2,,1,side,rounded_back\n"
                   "c.mp4,plank,,10,1,side,hold:hips_sagging\n"
                   "d.mp4,squat,2,,1,side,\n"
                   "e.mp4,squat,2,,1,side,?\n")
    a, b, c, d, e = read_labels(path, supported=SUPPORTED)
    assert a.faults == {1: {"knee_valgus"}, 3: {"too_shallow", "jerky"}}
    assert b.faults == {1: {"rounded_back"}, 2: {"rounded_back"}}
    assert c.faults == {HOLD: {"hips_sagging"}}
    assert d.faults == {}  # empty cell in a file with the column: known to be clean
    assert e.faults is None  # '?': not known


def test_per_person_counts(tmp_path: Path) -> None:
    path = _labels(tmp_path, "file,exercise,reps,people\na.mp4,squat,3|2,2\nb.mp4,squat,4,2\nc.mp4,squat,1|2|3,2\n")
    a, b, c = read_labels(path, supported=SUPPORTED)
    assert a.reps == (3, 2) and a.expected == (3, 2)
    assert b.reps == (4, 4)
    assert "lists 3 values but 'people' is 2" in c.problem


@pytest.mark.parametrize(("row", "problem"), [
    ("a.mp4,squat,x,,1,side", "'reps' must be a whole number, got 'x'"),
    ("a.mp4,squat,1.5,,1,side", "'reps' must be a whole number >= 0"),
    ("a.mp4,squat,,,1,side", "'squat' counts repetitions but the 'reps' cell is empty"),
    ("a.mp4,plank,,,1,side", "'plank' is a hold but the 'hold_s' cell is empty"),
    ("a.mp4,plank,,-3,1,side", "'hold_s' must be a number >= 0"),
    ("a.mp4,squat,1,,0,side", "people must be at least 1"),
    (",squat,1,,1,side", "the 'file' cell is empty"),
])
def test_a_bad_row_names_file_row_and_problem_and_keeps_the_others(tmp_path: Path, row: str, problem: str) -> None:
    path = _labels(tmp_path, "file,exercise,reps,hold_s,people,view\nok.mp4,squat,1,,1,side\n" + row + "\n")
    good, bad = read_labels(path, supported=SUPPORTED)
    assert good.problem is None
    assert bad.problem.startswith(f"{path} row 3: ") and problem in bad.problem


def test_bad_fault_scope_and_duplicates(tmp_path: Path) -> None:
    path = _labels(tmp_path, "file,exercise,reps,faults\na.mp4,squat,2,rep5:jerky\nb.mp4,squat,2,\nb.mp4,squat,2,\n")
    a, b, dup = read_labels(path, supported=SUPPORTED)
    assert "rep 5 is outside 1..2" in a.problem
    assert b.problem is None and "duplicate of row 3" in dup.problem


def test_unreadable_labels_files_raise_one_clear_error(tmp_path: Path) -> None:
    with pytest.raises(LabelsError, match="labels file not found"):
        read_labels(tmp_path / "nope.csv", supported=SUPPORTED)
    with pytest.raises(LabelsError, match=r"row 1: missing column\(s\) exercise"):
        read_labels(_labels(tmp_path, "file,reps\na.mp4,1\n"), supported=SUPPORTED)
    with pytest.raises(LabelsError, match="is empty"):
        read_labels(_labels(tmp_path, ""), supported=SUPPORTED)
    (tmp_path / "empty_dir").mkdir()
    with pytest.raises(LabelsError, match=r"no labels\.csv"):
        find_label_files(tmp_path / "empty_dir")
    with pytest.raises(LabelsError, match="folder not found"):
        find_label_files(tmp_path / "nowhere")


def test_label_files_are_found_in_subfolders_outermost_first(tmp_path: Path) -> None:
    (tmp_path / "synth").mkdir()
    _labels(tmp_path / "synth", "file,exercise\n")
    _labels(tmp_path, "file,exercise\n")
    assert find_label_files(tmp_path) == [tmp_path / "labels.csv", tmp_path / "synth" / "labels.csv"]


# ----------------------------------------------------------------------------- scoring
def _label(tmp_path: Path, line: str, header: str = "file,exercise,reps,hold_s,people,view,faults"):
    return read_labels(_labels(tmp_path, header + "\n" + line + "\n", f"l{abs(hash(line))}.csv"),
                       supported=SUPPORTED)[0]


def _measured(*people: dict, frames: int = 100, det: float = 0.9) -> dict:
    base = {"id": 0, "reps": 0, "hold_s": 0.0, "frames": 50, "rep_faults": [], "hold_faults": []}
    return {"frames": frames, "duration_s": frames / 30, "fps": 30.0, "detection_rate": det, "people_seen": 1,
            "max_people": 1, "tracks": len(people), "people": [{**base, **p} for p in people]}


def test_the_most_active_people_are_compared_largest_with_largest(tmp_path: Path) -> None:
    lab = _label(tmp_path, "a.mp4,squat,3|5,,2,front,")
    m = _measured({"id": 0, "reps": 5}, {"id": 1, "reps": 0, "frames": 90}, {"id": 2, "reps": 2})
    row = score_clip(lab, OK, measured=m)
    assert row["expected"] == [5, 3] and row["counted"] == [5, 2] and row["errors"] == [0, -1]
    assert row["exact"] is False and row["off_by_one"] is True


def test_a_missing_person_counts_zero(tmp_path: Path) -> None:
    row = score_clip(_label(tmp_path, "a.mp4,squat,2,,2,front,"), OK, measured=_measured({"reps": 2}))
    assert row["counted"] == [2, 0] and row["errors"] == [0, -2]


def test_faults_are_scored_per_rep(tmp_path: Path) -> None:
    lab = _label(tmp_path, "a.mp4,squat,3,,1,side,rep1:knee_valgus|rep3:too_shallow")
    # rep 1 right, rep 2 a false alarm, rep 3 missed (only 2 reps counted)
    m = _measured({"reps": 2, "rep_faults": [["knee_valgus"], ["jerky"]]})
    row = score_clip(lab, OK, measured=m)
    assert (row["fault_tp"], row["fault_fp"], row["fault_fn"]) == (1, 1, 1)
    clean = score_clip(_label(tmp_path, "b.mp4,squat,1,,1,side,"), OK, measured=_measured({"reps": 1}))
    assert (clean["fault_tp"], clean["fault_fp"], clean["fault_fn"]) == (0, 0, 0)
    unknown = score_clip(_label(tmp_path, "c.mp4,squat,1,,1,side", "file,exercise,reps,hold_s,people,view"), OK,
                         measured=_measured({"reps": 1, "rep_faults": [["jerky"]]}))
    assert unknown["fault_tp"] is None


def test_holds_use_a_tolerance_and_their_fed_back_faults(tmp_path: Path) -> None:
    lab = _label(tmp_path, "a.mp4,plank,,10,1,side,hold:hips_sagging")
    row = score_clip(lab, OK, measured=_measured({"hold_s": 8.5, "hold_faults": ["hips_sagging", "head_drop"]}))
    assert row["hold_ok"] is True and row["errors"] == [-1.5]  # within 20 % of 10 s
    assert (row["fault_tp"], row["fault_fp"], row["fault_fn"]) == (1, 1, 0)
    short = score_clip(lab, OK, measured=_measured({"hold_s": 7.0}))
    assert short["hold_ok"] is False


def test_aggregates_count_failed_clips_as_wrong_and_show_skips(tmp_path: Path) -> None:
    rows = [
        score_clip(_label(tmp_path, "a.mp4,squat,1,,1,side,"), OK, measured=_measured({"reps": 1})),
        score_clip(_label(tmp_path, "b.mp4,squat,3,,1,side,"), OK, measured=_measured({"reps": 1}, det=0.5)),
        score_clip(_label(tmp_path, "c.mp4,squat,2,,1,front,"), ERROR, note="undecodable"),
        score_clip(_label(tmp_path, "d.mp4,jumping_jack,2,,2,front,"), SKIPPED, note="not supported"),
        score_clip(_label(tmp_path, "e.mp4,squat,x,,1,front,"), BAD_LABEL, note="bad"),
    ]
    agg = aggregate(rows)
    assert agg["rep_items"] == 3 and agg["exact_count_accuracy"] == pytest.approx(1 / 3, abs=1e-3)
    assert agg["off_by_one_accuracy"] == pytest.approx(1 / 3, abs=1e-3)
    assert agg["mean_abs_error_reps"] == 1.0  # the failed clip is left out of the MAE
    assert (agg["skipped"], agg["bad_labels"], agg["errors"]) == (1, 1, 1)
    assert agg["detection_rate"] == pytest.approx(0.7)
    assert agg["fault_precision"] is None
    assert check_thresholds(agg, {"exact": 0.3}) == []
    assert "exact_count_accuracy 0.3333 < 0.5" in check_thresholds(agg, {"exact": 0.5})[0]
    assert "not measured" in check_thresholds(agg, {"fault_f1": 0.1})[0]


def test_measure_reads_the_report_contract() -> None:
    summary = {"frames": 10, "duration_s": 0.3, "source_fps": 30.0, "detection_rate": 0.8,
               "per_frame_people": [0, 1, 1, 2, 2, 2, 2, 2, 2, 2], "max_people_in_frame": 2,
               "tracks": [{"id": 0, "frames": 9}, {"id": 1, "frames": 6}]}
    report = {"people": [{"id": 0, "reps": 2, "hold_s": 0.0, "rep_events": [{"faults": ["jerky"]}, {"faults": []}],
                          "feedback": [{"code": "jerky", "severity": "info"}, {"code": "view", "severity": "setup"}]}]}
    m = measure(summary, report)
    assert m["people_seen"] == 2 and m["tracks"] == 2
    assert m["people"][0] == {"id": 0, "reps": 2, "hold_s": 0.0, "frames": 9, "rep_faults": [["jerky"], []],
                              "hold_faults": ["jerky"]}


def test_tables_are_written_as_csv_json_and_markdown(tmp_path: Path) -> None:
    rows = [score_clip(_label(tmp_path, "a.mp4,squat,1,,1,side,"), OK, measured=_measured({"reps": 1})),
            score_clip(_label(tmp_path, "d.mp4,jumping_jack,2,,2,front,"), SKIPPED, note="no definition")]
    result = {"run": {"command": "formcheck evaluate x", "labels": "x/labels.csv", "engine": "local", "jobs": 2,
                      "wall_s": 1.0}, "clips": rows,
              "aggregates": {"all": aggregate(rows), "by_exercise": {}, "by_view": {}}}
    paths = write_tables(result, tmp_path / "out")
    assert [p.name for p in paths] == ["clips.csv", "aggregates.csv", "evaluation.json", "evaluation.md"]
    clips = list(csv.DictReader(paths[0].open()))
    assert clips[0]["file"] == "a.mp4" and clips[0]["exact"] == "True" and clips[1]["status"] == "skipped"
    assert json.loads(paths[2].read_text())["aggregates"]["all"]["exact_count_accuracy"] == 1.0
    md = paths[3].read_text()
    assert "skipped: exercise not supported" in md and "| a.mp4 | squat |" in md
    assert "skipped: exercise not supported" in render_text(result)


# ----------------------------------------------------------------------------- the command
def _cli(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "exercises.cli", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=600)


def test_evaluate_command_end_to_end(tmp_path: Path, sample) -> None:
    clip = sample("pose2sim_singleperson_cam01.mp4")
    _labels(tmp_path, "file,exercise,reps,hold_s,people,view,faults,notes\n"
            f"{clip},,,,1,,,detection only\n"
            f"{clip},squat,0,,1,front,,nobody squats\n"
            "missing.mp4,squat,1,,1,front,,\n"
            "other.mp4,jumping_jack,2,,2,front,,\n"
            "bad.mp4,squat,many,,1,front,,\n")
    out = tmp_path / "tables"
    proc = _cli("evaluate", str(tmp_path), "--target-fps", "10", "--jobs", "2", "--out", str(out),
                "--fail-under", "off_by_one=1.0")
    assert "Traceback" not in proc.stderr, proc.stderr[-3000:]
    assert proc.returncode == 1  # the missing clip counts as wrong, so off-by-one accuracy is 0.5
    assert "FAIL: off_by_one_accuracy 0.5000 < 1" in proc.stderr
    text = proc.stdout
    assert "skipped: exercise not supported" in text
    assert "clip not found" in text and "'reps' must be a whole number" in text
    assert "exact-count accuracy 0.50 (1/2)" in text
    rows = {(r["file"], r["exercise"]): r for r in csv.DictReader((out / "clips.csv").open())}
    assert rows[(str(clip), "squat")]["counted"] == "0" and rows[(str(clip), "squat")]["exact"] == "True"
    assert float(rows[(str(clip), "")]["detection_rate"]) > 0.5  # a person is found in most frames
    assert {p.name for p in out.iterdir()} == {"clips.csv", "aggregates.csv", "evaluation.json", "evaluation.md"}


def test_evaluate_bad_input_is_one_line(tmp_path: Path) -> None:
    proc = _cli("evaluate", str(tmp_path))
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert proc.stderr.strip().splitlines()[-1].startswith("formcheck: error: no labels.csv in")
    _labels(tmp_path, "file,reps\na.mp4,1\n")
    proc = _cli("evaluate", str(tmp_path))
    assert proc.returncode == 2 and "row 1: missing column(s) exercise" in proc.stderr
    proc = _cli("evaluate", str(tmp_path), "--fail-under", "speed=0.5")
    assert proc.returncode == 2 and "unknown metric 'speed'" in proc.stderr


def test_evaluate_on_the_dev_clips_reads_their_labels(dev_clips: Path) -> None:
    rows = read_labels(dev_clips / "labels.csv")
    assert rows and all(r.problem is None for r in rows), [r.problem for r in rows if r.problem]
    assert {r.kind for r in rows} >= {"reps", "hold", "unsupported"}
    assert all(r.path.is_file() for r in rows)
