import json
from pathlib import Path

import pytest

from voice_agent.entrypoints.cli.main import main

EXAMPLES = Path(__file__).parents[2] / "examples"


def test_call_prints_one_json_object_with_turns_and_latencies(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["call", "--script", str(EXAMPLES / "three_turns.yaml"), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert set(result) == {"call", "turns"}
    assert result["call"]["status"] == "completed"
    assert result["call"]["end_reason"] == "goodbye"
    assert set(result["call"]) == {"id", "status", "end_reason"}
    turn = result["turns"][2]
    assert set(turn) == {"role", "text", "heard_text", "interrupted", "latency_ms"}
    assert set(turn["latency_ms"]) == {"eou", "stt", "llm_ttft", "tts_ttfb", "e2e"}
    assert turn["role"] == "agent"
    assert turn["latency_ms"]["e2e"] > 0


def test_call_prints_a_transcript_and_latency_table(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["call", "--script", str(EXAMPLES / "barge_in.yaml")]) == 0
    out = capsys.readouterr().out
    assert "[interrupted; meant:" in out
    assert "e2e ms" in out


def test_a_bad_scenario_exits_2_with_the_reason(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("caller:\n  - shout: hello\n")
    assert main(["call", "--script", str(path)]) == 2
    assert "caller.0.shout: Extra inputs are not permitted" in capsys.readouterr().err


@pytest.mark.parametrize("example", sorted(p.name for p in EXAMPLES.glob("*.yaml")))
def test_every_example_scenario_runs(example: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["call", "--script", str(EXAMPLES / example), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["call"]["status"] == "completed"


def test_serve_refuses_a_network_bind_without_an_api_key(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import uvicorn

    def must_not_bind(*args: object, **kwargs: object) -> None:
        raise AssertionError("the server must not start")

    monkeypatch.setattr(uvicorn, "run", must_not_bind)
    monkeypatch.delenv("API_KEY", raising=False)
    monkeypatch.setenv("STACK", "fake")
    assert main(["serve", "--host", "0.0.0.0"]) == 2
    assert "--host 0.0.0.0 is reachable from the network: set API_KEY" in capsys.readouterr().err
