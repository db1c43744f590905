import pytest

from tests.contract.llm_contract import LanguageModelContract, ToolCallingContract
from voice_agent.adapters.fakes.llm import (
    FakeLlmSettings,
    ScriptedLanguageModel,
    ScriptedReply,
    ScriptedToolCall,
)


@pytest.fixture
def llm() -> ScriptedLanguageModel:
    return ScriptedLanguageModel(
        settings=FakeLlmSettings(ttft_s=0.01, tokens_per_second=500),
        default=ScriptedReply("Yes, we are open until five today."),
    )


@pytest.fixture
def tool_calling_llm() -> ScriptedLanguageModel:
    return ScriptedLanguageModel(
        [ScriptedReply("Goodbye!", tool_calls=[ScriptedToolCall("end_call", {})])],
        settings=FakeLlmSettings(ttft_s=0.01, tokens_per_second=500),
    )


class TestScriptedLanguageModel(LanguageModelContract, ToolCallingContract):
    pass
