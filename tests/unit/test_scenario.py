from pathlib import Path

import pytest

from voice_agent.entrypoints.scripted.scenario import ScenarioError, load_scenario, parse_scenario


def test_a_step_needs_exactly_one_action() -> None:
    with pytest.raises(ScenarioError, match=r"caller\.0: .*exactly one of: say, cough"):
        parse_scenario({"caller": [{"say": "hi", "dtmf": "1"}]})


def test_a_step_takes_at_most_one_trigger() -> None:
    with pytest.raises(ScenarioError, match="at most one trigger"):
        parse_scenario({"caller": [{"say": "hi", "at": 1, "into_reply": 2}]})


def test_unknown_keys_are_named() -> None:
    with pytest.raises(ScenarioError, match=r"agent\.0\.replly: Extra inputs"):
        parse_scenario({"agent": [{"replly": "typo"}]})


def test_negative_latencies_are_refused() -> None:
    with pytest.raises(ScenarioError, match=r"latency\.llm_ttft"):
        parse_scenario({"latency": {"llm_ttft": -1}})


def test_files_that_are_missing_or_not_yaml_get_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match="cannot read scenario"):
        load_scenario(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("caller: [unclosed")
    with pytest.raises(ScenarioError, match="not valid YAML"):
        load_scenario(bad)


def test_speech_duration_defaults_from_the_word_count() -> None:
    scenario = parse_scenario({"caller": [{"say": "one two three four five"}]})
    assert scenario.script.actions[0].duration_s == pytest.approx(2.0)
