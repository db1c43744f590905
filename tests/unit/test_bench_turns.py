"""The end-of-turn evaluation: its figures, and the cases files it refuses."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from bench.turns import CasesError, main, parse_cases


def test_the_json_figures_count_false_waits_and_cut_offs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cases = tmp_path / "cases.tsv"
    cases.write_text(
        "# a comment\n"
        "finished\tWho am I talking to?\n"
        "finished\tYes.\n"
        "unfinished\tMy email is anna dot\n"
        "unfinished\tI need a cleaning, a filling and\n",
        encoding="utf-8",
    )
    assert main(["--cases", str(cases), "--json", "--detector", "text"]) == 0
    figures = json.loads(capsys.readouterr().out)
    assert set(figures) == {"cases", "false_wait", "cut_off", "decision_ms"}
    assert figures["cases"] == 4
    assert figures["false_wait"] == 0.0
    assert figures["cut_off"] == 0.0
    assert set(figures["decision_ms"]) == {"p50", "p95"}


def test_the_held_out_part_starts_at_its_comment() -> None:
    cases = parse_cases("finished\tYes.\n# Held-out part\nfinished\tNo.\n")
    assert [c.held_out for c in cases] == [False, True]


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("finished Yes.", "cases:2: expected `finished` or `unfinished`, a tab"),
        ("done\tYes.", "cases:2: unknown label 'done'"),
        ("finished\t  ", "cases:2: the caller's words are missing"),
        ("finished\tYes.\tNo.", "cases:2: more than one tab"),
    ],
)
def test_malformed_lines_are_refused_with_their_number(line: str, reason: str) -> None:
    with pytest.raises(CasesError, match=reason.replace("(", r"\(")):
        parse_cases(f"# header\n{line}\n")


def test_a_bad_cases_file_exits_with_the_reason(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cases = tmp_path / "cases.tsv"
    cases.write_text("finished\tYes.\nmaybe\tNo.\n", encoding="utf-8")
    assert main(["--cases", str(cases), "--json"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert f"{cases}:2: unknown label 'maybe'" in captured.err


def test_the_shipped_set_is_large_varied_and_has_a_held_out_part() -> None:
    source = (Path(__file__).parents[2] / "bench" / "data" / "turns.tsv").read_text("utf-8")
    cases = parse_cases(source)
    finished = sum(c.finished for c in cases)
    held_out = sum(c.held_out for c in cases)
    assert len(cases) >= 220
    assert 0.55 <= finished / len(cases) <= 0.65
    assert 0.25 <= held_out / len(cases) <= 0.5
    dev_texts = {c.text.lower() for c in cases if not c.held_out}
    assert [c.text for c in cases if c.held_out and c.text.lower() in dev_texts] == []


def test_an_empty_part_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cases = tmp_path / "cases.tsv"
    cases.write_text("finished\tYes.\n", encoding="utf-8")
    assert main(["--cases", str(cases), "--json", "--part", "held-out"]) == 2
    assert "no held-out cases" in capsys.readouterr().err


def test_the_detector_option_overrides_the_settings(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ENGINE__END_OF_TURN", "model")
    cases = tmp_path / "cases.tsv"
    cases.write_text("finished\tYes.\nunfinished\tMy email is anna dot\n", encoding="utf-8")
    assert main(["--cases", str(cases), "--detector", "text"]) == 0
    assert capsys.readouterr().out.startswith("detector: text\n")
