"""Exercise definitions, messages and patient profiles: loading and strict validation."""

from __future__ import annotations

import copy
import re
import tomllib
from pathlib import Path

import pytest

from exercises.definition import (
    DEFINITIONS_DIR,
    DefinitionError,
    list_exercises,
    load_exercise,
    parse_exercise,
)
from exercises.messages import LANGUAGES, Messages, catalogue
from exercises.profile import load_profile, profile_from_dict

EXPECTED = {
    "floor_lift", "squat", "hip_hinge", "plank", "side_plank", "bird_dog", "glute_bridge", "dead_bug",
    "superman", "lunge", "push_up",
}
SHARED_FAULTS = {"stoop_lift", "rounded_back", "knee_valgus", "hips_sagging", "hips_piking", "twisting",
                 "too_shallow", "load_far", "jerky", "head_drop", "knee_over_toes"}


def _raw(name: str) -> dict:
    return tomllib.loads((DEFINITIONS_DIR / f"{name}.toml").read_text(encoding="utf-8"))


def test_all_eleven_exercises_load_with_their_views():
    listed = {i: (v, k) for i, v, k in list_exercises()}
    assert set(listed) == EXPECTED
    for ex_id, (view, kind) in listed.items():
        ex = load_exercise(ex_id)
        assert ex.id == ex_id and ex.view == view and ex.kind == kind
        assert (ex.reps is not None) == (kind == "reps") and (ex.hold is not None) == (kind == "hold")
        assert set(ex.fault_codes) <= SHARED_FAULTS, ex.fault_codes
    # Home users face the camera: these must count from any view.
    for ex_id in ("squat", "floor_lift", "push_up", "lunge"):
        assert listed[ex_id][0] == "either"
    assert listed["plank"][1] == "hold" and listed["side_plank"][1] == "hold"


def test_lifting_declares_the_literature_measures():
    ex = load_exercise("floor_lift")
    types = {m.type for m in ex.metrics.values()}
    assert {"ratio", "distance", "rotation", "valgus", "rate", "inclination"} <= types
    assert {"stoop_lift", "load_far", "twisting", "knee_valgus", "jerky", "rounded_back"} <= set(ex.fault_codes)
    valgus = next(r for r in ex.rules if r.code == "knee_valgus")
    assert valgus.view == "front"


def test_load_by_path_and_unknown_name(tmp_path: Path):
    p = tmp_path / "my_squat.toml"
    p.write_text((DEFINITIONS_DIR / "squat.toml").read_text(encoding="utf-8"), encoding="utf-8")
    assert load_exercise(p).id == "squat"
    with pytest.raises(DefinitionError, match="unknown exercise 'burpee'"):
        load_exercise("burpee")


def _bad(mutate, match: str) -> None:
    data = copy.deepcopy(_raw("squat"))
    mutate(data)
    with pytest.raises(DefinitionError, match=match) as e:
        parse_exercise(data, "squat.toml")
    assert "squat.toml" in str(e.value)


@pytest.mark.parametrize(
    ("mutate", "match"),
    [
        (lambda d: d.update(colour="red"), "key 'colour': unknown key"),
        (lambda d: d["metrics"]["hip_height"].update(pionts=["mid_hip"]), "metrics.hip_height.pionts"),
        (lambda d: d["metrics"]["knee_flexion"].update(points=["left_hip", "left_kneee", "left_ankle"]),
         r"metrics.knee_flexion.points\[1\]'.*unknown landmark name 'left_kneee'"),
        (lambda d: d["metrics"]["knee_flexion"].update(points=["left_hip", "left_knee"]), "needs 3 points"),
        (lambda d: d["metrics"]["hip_height"].update(type="telepathy"), "metrics.hip_height.type"),
        (lambda d: d["reps"]["phases"]["bottom"]["conditions"][0].update(above=0.02), "no hysteresis"),
        (lambda d: d["reps"]["phases"]["top"]["conditions"][0].update(above="high"), "must be a number"),
        (lambda d: d["reps"].update(signal="nope"), "reps.signal"),
        (lambda d: d["reps"].update(min_rep_s=30.0), "max_rep_s"),
        (lambda d: d["rules"][0].update(severity="fatal"), r"rules\[0\].severity"),
        (lambda d: d["rules"][0].update(message="fault.does_not_exist"), "unknown message key"),
        (lambda d: d["rules"][0].update(phase="lunch"), "unknown phase 'lunch'"),
        (lambda d: d["rules"][0].update(below=3), "exactly one of 'above' or 'below'"),
        (lambda d: d["rules"][0].update(metric="ghost"), "unknown metric 'ghost'"),
        (lambda d: d["rules"][0].update(view="top"), r"rules\[0\].view"),
        (lambda d: d["rules"][0].update(min_duration_s=-1), "outside"),
        (lambda d: d["start"]["conditions"].append({"metric": "hip_height"}), "needs 'above' and/or 'below'"),
        (lambda d: d["start"]["conditions"].append({"metric": "hip_height", "above": 2, "below": 1}), "empty band"),
        (lambda d: d.update(required_landmarks=["left_elbo"]), "unknown landmark name 'left_elbo'"),
        (lambda d: d["metrics"].update(loop_a={"type": "combine", "of": ["loop_b"]},
                                       loop_b={"type": "combine", "of": ["loop_a"]}), "circular"),
        (lambda d: d.update(kind="hold"), "hold"),
    ],
)
def test_invalid_definitions_name_file_and_key(mutate, match):
    _bad(mutate, match)


def test_bad_toml_and_mismatched_id(tmp_path: Path):
    p = tmp_path / "broken.toml"
    p.write_text("id = [", encoding="utf-8")
    with pytest.raises(DefinitionError, match=r"broken\.toml: not valid TOML"):
        load_exercise(p)


def test_messages_exist_in_both_languages_and_german_is_default():
    assert LANGUAGES == ("de", "en")
    assert set(catalogue("de")) == set(catalogue("en"))
    de = Messages()
    assert de.lang == "de"
    assert de.text("fault.stoop_lift") == "Knie beugen, Rücken gerade"
    assert de.text("fault.load_far") == "Last nah am Körper"
    assert de.text("fault.hips_sagging").startswith("Hüfte anheben")
    assert Messages("en").text("fault.load_far") == "Keep the load close to your body"
    assert "praise.clean_rep" in catalogue("de")
    assert "Seite" in de.text("setup.view_for_rule", what=de.fault("rounded_back"), view=de.text("view.side"))
    for lang in LANGUAGES:  # short and free of "never"/"nie" dogma
        for key, text in catalogue(lang).items():
            if key.startswith("fault."):
                assert len(text) <= 60 and not re.search(r"\b(never|nie|niemals)\b", text, re.I), text


def test_every_rule_message_and_exercise_name_is_translated():
    for ex_id in EXPECTED:
        ex = load_exercise(ex_id)
        for lang in LANGUAGES:
            cat = catalogue(lang)
            assert f"exercise.{ex_id}" in cat
            for r in ex.rules:
                assert r.message in cat


def test_profile_overrides_thresholds_and_targets(tmp_path: Path):
    p = tmp_path / "frau_m.toml"
    p.write_text(
        'name = "Frau M."\n[squat]\nrom_target = 0.06\n[squat.rules.knee_valgus]\nabove = 25\n'
        '[squat.rules.jerky]\nenabled = false\n[plank]\ntarget_s = 20\n', encoding="utf-8")
    prof = load_profile(p)
    sq = prof.apply(load_exercise("squat"))
    assert sq.reps is not None and sq.reps.rom_target == 0.06
    # the counting threshold moved with the loosened ROM target (a shallower squat now counts), hysteresis kept
    turn = sq.reps.turn_phase.conditions[0]
    assert turn.above == pytest.approx(0.06) and turn.above > sq.reps.start_phase.conditions[0].below
    assert next(r for r in sq.rules if r.code == "knee_valgus").threshold == 25
    assert next(r for r in sq.rules if r.code == "jerky").enabled is False
    pl = prof.apply(load_exercise("plank"))
    assert pl.hold is not None and pl.hold.target_s == 20
    assert prof.apply(load_exercise("lunge")) == load_exercise("lunge")


@pytest.mark.parametrize(
    ("data", "match"),
    [
        ({"burpee": {"rom_target": 1}}, "key 'burpee': unknown exercise"),
        ({"squat": {"depth": 1}}, "key 'squat.depth': unknown key"),
        ({"squat": {"rules": {"knee_valgus": {"abvoe": 3}}}}, "squat.rules.knee_valgus.abvoe"),
        ({"squat": {"rules": {"flying": {"above": 3}}}}, "rules.flying': no such rule"),
        ({"squat": {"rules": {"knee_valgus": {"severity": "fatal"}}}}, "fatal"),
        ({"squat": {"phases": {"middle": {"hip_height": {"below": 0.7}}}}}, "phases.middle': unknown phase"),
        ({"squat": {"rom_target": 0.03}}, "hysteresis"),
        ({"plank": {"target_s": -5}}, "positive number"),
    ],
)
def test_invalid_profiles_name_file_and_key(data, match):
    with pytest.raises(DefinitionError, match=match) as e:
        profile_from_dict(data, "frau_m.toml")
    assert "frau_m.toml" in str(e.value)
