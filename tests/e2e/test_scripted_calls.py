"""Whole calls on fakes: what the caller hears, what is stored, what is measured."""

from __future__ import annotations

import asyncio

import pytest

from tests.e2e.conftest import RunCall
from voice_agent.adapters.memory_line.line import InMemoryCallTransport
from voice_agent.application.session.config import SessionConfig
from voice_agent.domain.audio import AudioChunk
from voice_agent.domain.call import CallStatus, EndReason
from voice_agent.domain.events import (
    CallerInterrupted,
    DomainEvent,
    DtmfReceived,
    FalseInterruptionIgnored,
    ProviderFailed,
    StateChanged,
)
from voice_agent.domain.history import MessageRole
from voice_agent.domain.state import ConversationState
from voice_agent.entrypoints.scripted.runner import build_scripted_call, run_fast_forwarded
from voice_agent.entrypoints.scripted.scenario import parse_scenario

LONG_REPLY = (
    "We have tables at six, seven and eight tonight. "
    "The terrace is open if the weather holds, and we can seat up to twelve people. "
    "Would you like me to book one of those for you?"
)
GREETING = "Hello, thanks for calling. How can I help you today?"


def test_a_three_turn_call_answers_every_turn_and_is_stored(run_call: RunCall) -> None:
    run = run_call(
        {
            "latency": {"stt_final": 0.15, "llm_ttft": 0.3, "tts_ttfb": 0.1},
            "caller": [
                {"say": "Hi, I'd like to book a table for two tonight"},
                {"say": "At seven please"},
                {"say": "That's all, goodbye"},
            ],
            "agent": [
                {"reply": "Of course! What time would you like?"},
                {"reply": "Done, a table for two at seven."},
                {"reply": "Thank you, goodbye!"},
            ],
        }
    )
    texts = [(t.role.value, t.text) for t in run.call.turns]
    assert texts == [
        ("agent", GREETING),
        ("caller", "Hi, I'd like to book a table for two tonight"),
        ("agent", "Of course! What time would you like?"),
        ("caller", "At seven please"),
        ("agent", "Done, a table for two at seven."),
        ("caller", "That's all, goodbye"),
        ("agent", "Thank you, goodbye!"),
    ]
    assert run.call.status is CallStatus.COMPLETED
    assert run.call.end_reason is EndReason.GOODBYE
    assert run.scripted.transport.record.hung_up_by == "agent"
    assert run.stored is not None
    assert [t.text for t in run.stored.turns] == [t for _, t in texts]
    assert run.stored.status is CallStatus.COMPLETED
    for turn in run.agent_turns[1:]:
        latency = turn.latency
        assert latency.e2e_ms is not None
        assert latency.eou_ms is not None
        assert latency.llm_ttft_ms is not None
        assert latency.tts_ttfb_ms is not None
        assert latency.llm_ttft_ms == pytest.approx(300, abs=1)
        assert latency.tts_ttfb_ms == pytest.approx(100, abs=1)
        assert latency.stt_ms is not None
        # Voice to voice is the stages plus the first phrase's tokens, nothing hidden; the
        # model starts on the final transcript, while the end-of-turn delay still runs.
        first_text_ms = max(latency.eou_ms, latency.stt_ms + latency.llm_ttft_ms)
        stages = first_text_ms + latency.tts_ttfb_ms
        assert stages <= latency.e2e_ms <= stages + 150


def test_the_agent_speaks_within_the_budget_of_the_stages(run_call: RunCall) -> None:
    run = run_call(
        {
            "latency": {"stt_final": 0.1, "llm_ttft": 0.2, "tts_ttfb": 0.08},
            "caller": [{"say": "What are your opening hours?"}, {"hang_up": True}],
            "agent": [{"reply": "We open at nine."}],
        }
    )
    answer = run.agent_turns[1]
    assert answer.latency.eou_ms == pytest.approx(350, abs=25)
    assert answer.latency.e2e_ms is not None
    assert answer.latency.e2e_ms < 800
    # The caller heard the first audio when the engine said it went out.
    record = run.scripted.transport.record
    reply_segment = record.segments[1]
    caller_end = record.caller_speech[0][1]
    assert (reply_segment.start - caller_end) * 1000 == pytest.approx(answer.latency.e2e_ms, abs=25)


def test_barge_in_stops_the_agent_and_keeps_only_what_was_heard(run_call: RunCall) -> None:
    run = run_call(
        {
            "latency": {"tts_chars_per_second": 15},
            "caller": [
                {"say": "Do you have a table tonight?"},
                {"say": "Seven is perfect, book it", "into_reply": 2.0},
                {"hang_up": True},
            ],
            "agent": [{"reply": LONG_REPLY}, {"reply": "Booked for seven."}],
        }
    )
    cut = run.agent_turns[1]
    assert cut.interrupted
    assert cut.text == LONG_REPLY
    assert cut.heard_text
    assert LONG_REPLY.startswith(cut.heard_text.rstrip(".,"))
    # Two seconds at 15 characters a second, plus the time until the words were recognized.
    assert 20 <= len(cut.heard_text) <= 60
    record = run.scripted.transport.record
    barge_in_at = record.caller_speech[1][0]
    assert record.cleared_at, "queued agent audio must be cleared"
    assert record.cleared_at[0] - barge_in_at < 0.5
    reply_segment = next(s for s in record.segments if s.start < barge_in_at and s.end)
    assert reply_segment.end is not None
    assert reply_segment.end - barge_in_at < 0.5, "the agent must stop within half a second"
    # The model's history holds only the heard part, then the caller's new turn.
    second_request = run.scripted.llm.requests[1]
    assistant = [m.content for m in second_request if m.role is MessageRole.ASSISTANT]
    assert assistant[-1] == cut.heard_text
    assert second_request[-1].content == "Seven is perfect, book it"
    assert run.agent_turns[2].text == "Booked for seven."
    assert len(run.events_of(CallerInterrupted)) == 1
    assert run.stored is not None
    stored_cut = next(t for t in run.stored.turns if t.id == cut.id)
    assert stored_cut.interrupted
    assert stored_cut.heard_text == cut.heard_text


def test_barge_in_without_word_timings_estimates_the_heard_text(run_call: RunCall) -> None:
    run = run_call(
        {
            "latency": {"tts_word_timings": False},
            "caller": [
                {"say": "Do you have a table tonight?"},
                {"say": "Stop, stop, seven please", "into_reply": 3.0},
                {"hang_up": True},
            ],
            "agent": [{"reply": LONG_REPLY}],
        }
    )
    cut = run.agent_turns[1]
    assert cut.interrupted
    assert cut.heard_text
    assert LONG_REPLY.startswith(cut.heard_text)
    assert len(cut.heard_text) < len(LONG_REPLY) / 2


@pytest.mark.parametrize("noise", [{"cough": 0.3}, {"say": "mm-hm", "duration": 0.5}])
def test_a_cough_or_backchannel_does_not_interrupt(
    run_call: RunCall, noise: dict[str, object]
) -> None:
    run = run_call(
        {
            "caller": [
                {"say": "Do you have a table tonight?"},
                {**noise, "into_reply": 1.5},
                {"hang_up": True, "after_reply": 0.5},
            ],
            "agent": [{"reply": LONG_REPLY}],
        }
    )
    reply = run.agent_turns[1]
    assert not reply.interrupted
    assert reply.heard_text == LONG_REPLY
    assert run.events_of(FalseInterruptionIgnored)
    assert not run.events_of(CallerInterrupted)
    assert not run.scripted.transport.record.cleared_at
    # The noise never became a caller turn or a model request.
    assert [t.text for t in run.caller_turns] == ["Do you have a table tonight?"]
    assert len(run.scripted.llm.requests) == 1


def test_a_model_failure_is_answered_with_an_apology_and_the_call_goes_on(
    run_call: RunCall,
) -> None:
    run = run_call(
        {
            "caller": [
                {"say": "What time do you close?"},
                {"say": "What time do you close tonight?"},
                {"hang_up": True},
            ],
            "agent": [{"fail": "unavailable"}, {"reply": "We close at ten."}],
        }
    )
    apology = run.agent_turns[1]
    assert apology.text == "Sorry, I had a problem just now. Could you say that again?"
    assert apology.latency.e2e_ms is not None
    assert apology.latency.e2e_ms < 1500
    assert run.agent_turns[2].text == "We close at ten."
    failures = run.events_of(ProviderFailed)
    assert [f.stage for f in failures] == ["llm"]
    assert run.call.status is CallStatus.COMPLETED


def test_a_model_failure_mid_reply_keeps_what_was_said_and_apologizes(run_call: RunCall) -> None:
    run = run_call(
        {
            "caller": [{"say": "Tell me about the menu"}, {"hang_up": True}],
            "agent": [
                {
                    "reply": "We serve pasta. We also serve fish and steak.",
                    "fail": "timeout",
                    "fail_after_tokens": 5,
                }
            ],
        }
    )
    reply = run.agent_turns[1]
    assert reply.text.startswith("We serve pasta.")
    assert reply.text.endswith("Could you say that again?")
    assert "steak" not in reply.text


def test_a_speech_synthesis_failure_plays_the_prerendered_apology(run_call: RunCall) -> None:
    run = run_call(
        {
            "failures": {"tts_calls": [2]},  # 0: greeting, 1: apology pre-render, 2: the reply
            "caller": [{"say": "Are you open on Sunday?"}, {"hang_up": True}],
            "agent": [{"reply": "Yes, from ten to four."}],
        }
    )
    reply = run.agent_turns[1]
    assert reply.text.endswith("Could you say that again?")
    assert [f.stage for f in run.events_of(ProviderFailed)] == ["tts"]
    assert reply.latency.e2e_ms is not None
    assert reply.latency.e2e_ms < 1500


def test_caller_hanging_up_mid_reply_keeps_the_partial_turn(run_call: RunCall) -> None:
    run = run_call(
        {
            "caller": [
                {"say": "Do you have a table tonight?"},
                {"hang_up": True, "into_reply": 2.5},
            ],
            "agent": [{"reply": LONG_REPLY}],
        }
    )
    assert run.call.status is CallStatus.COMPLETED
    assert run.call.end_reason is EndReason.CALLER_HUNG_UP
    partial = run.agent_turns[-1]
    assert partial.interrupted
    assert partial.heard_text
    assert len(partial.heard_text) < len(LONG_REPLY)
    assert run.stored is not None
    assert run.stored.status is CallStatus.COMPLETED
    assert run.stored.turns[-1].heard_text == partial.heard_text
    assert run.scripted.llm.cancelled + run.scripted.llm.completed == 1
    assert run.scripted.transport.record.hung_up_by == "caller"


def test_the_end_call_tool_says_goodbye_then_hangs_up(run_call: RunCall) -> None:
    run = run_call(
        {
            "caller": [{"say": "That's everything I needed"}],
            "agent": [{"reply": "", "tools": [{"name": "end_call"}]}],
        }
    )
    assert run.call.end_reason is EndReason.AGENT_ENDED
    assert run.agent_turns[-1].text == "Thank you for calling. Goodbye!"
    assert run.scripted.transport.record.hung_up_by == "agent"
    assert run.scripted.llm.tools_seen[0] == ["end_call"]
    # The goodbye was played to the end before hanging up.
    record = run.scripted.transport.record
    assert record.segments[-1].end is not None


def test_transfer_call_hands_the_caller_over(run_call: RunCall) -> None:
    run = run_call(
        {
            "settings": {"transfer_destination": "tel:+15550199"},
            "caller": [{"say": "Can I talk to a person please"}],
            "agent": [{"reply": "Sure, one moment.", "tools": [{"name": "transfer_call"}]}],
        }
    )
    assert run.call.end_reason is EndReason.TRANSFERRED
    assert run.scripted.transport.record.transferred_to == "tel:+15550199"
    assert run.scripted.llm.tools_seen[0] == ["end_call", "transfer_call"]


def test_silence_gets_a_prompt_then_a_hang_up(run_call: RunCall) -> None:
    run = run_call({"settings": {"silence_timeout": 5}, "caller": []})
    assert [t.text for t in run.agent_turns] == [
        GREETING,
        "Are you still there?",
        "I haven't heard anything, so I'll hang up now. Goodbye!",
    ]
    assert run.call.end_reason is EndReason.SILENCE_TIMEOUT


def test_answering_the_silence_prompt_keeps_the_call_alive(run_call: RunCall) -> None:
    run = run_call(
        {
            "settings": {"silence_timeout": 5},
            "caller": [{"say": "Yes, sorry, I'm here", "at": 12}, {"hang_up": True}],
            "agent": [{"reply": "No problem. How can I help?"}],
        }
    )
    assert [t.text for t in run.agent_turns] == [
        GREETING,
        "Are you still there?",
        "No problem. How can I help?",
    ]
    assert run.call.end_reason is EndReason.CALLER_HUNG_UP


def test_the_maximum_call_duration_ends_the_call_politely(run_call: RunCall) -> None:
    run = run_call(
        {
            "settings": {"max_call_duration": 12},
            "caller": [{"say": "Tell me everything about your menu"}],
            "agent": [{"reply": LONG_REPLY + " " + LONG_REPLY}],
        }
    )
    assert run.call.end_reason is EndReason.MAX_DURATION
    assert run.agent_turns[-1].text.startswith("We've reached the time limit")
    assert run.agent_turns[-2].interrupted


def test_a_question_ending_in_a_pronoun_is_answered_after_the_short_delay(
    run_call: RunCall,
) -> None:
    run = run_call(
        {
            "caller": [{"say": "Sorry, could you repeat that?"}, {"hang_up": True}],
            "agent": [{"reply": "Of course: we open at nine."}],
        }
    )
    answer = run.agent_turns[1]
    assert answer.latency.eou_ms == pytest.approx(350, abs=25)
    assert [t.text for t in run.caller_turns] == ["Sorry, could you repeat that?"]


def test_an_unfinished_sentence_waits_for_the_rest(run_call: RunCall) -> None:
    run = run_call(
        {
            "caller": [
                {"say": "My phone number is"},
                {"say": "five five five, one two three four", "after_silence": 0.9},
                {"hang_up": True},
            ],
            "agent": [{"reply": "Thanks, I have it."}],
        },
        base=SessionConfig(preemptive_generation=False),
    )
    assert [t.text for t in run.caller_turns] == [
        "My phone number is five five five, one two three four"
    ]
    assert len(run.scripted.llm.requests) == 1


def test_speech_during_thinking_continues_the_same_turn(run_call: RunCall) -> None:
    run = run_call(
        {
            "latency": {"llm_ttft": 1.0},
            "caller": [
                {"say": "I'd like a table tonight"},
                {"say": "for four people please", "after_silence": 0.6},
                {"hang_up": True},
            ],
            "agent": [{"reply": "Sure, for two."}, {"reply": "Sure, a table for four tonight."}],
        }
    )
    assert [t.text for t in run.caller_turns] == ["I'd like a table tonight for four people please"]
    assert [t.text for t in run.agent_turns[1:]] == ["Sure, a table for four tonight."]
    assert run.scripted.llm.requests[1][-1].content == (
        "I'd like a table tonight for four people please"
    )
    assert run.stored is not None
    assert [t.text for t in run.stored.turns if t.role.value == "caller"] == [
        "I'd like a table tonight for four people please"
    ]


def test_dtmf_digits_are_recorded(run_call: RunCall) -> None:
    run = run_call(
        {
            "caller": [
                {"dtmf": "1"},
                {"dtmf": "#", "after_silence": 0.2},
                {"hang_up": True, "after_silence": 0.5},
            ]
        }
    )
    assert [e.digit for e in run.events_of(DtmfReceived)] == ["1", "#"]


def test_key_presses_reach_the_model_with_the_callers_next_turn(run_call: RunCall) -> None:
    run = run_call(
        {
            "caller": [
                {"dtmf": "4"},
                {"dtmf": "2", "after_silence": 0.2},
                {"say": "That is my booking number", "after_silence": 0.5},
                {"hang_up": True},
            ],
            "agent": [{"reply": "Thanks, I found it."}],
        }
    )
    [request] = run.scripted.llm.requests
    said = [(m.role, m.content) for m in request if m.role is not MessageRole.SYSTEM]
    assert said == [
        (MessageRole.ASSISTANT, GREETING),
        (MessageRole.USER, "[keypad] 4 2"),
        (MessageRole.USER, "That is my booking number"),
    ]
    assert [e.digit for e in run.events_of(DtmfReceived)] == ["4", "2"]


def test_key_presses_alone_are_answered_once_the_caller_stops_pressing(
    run_call: RunCall,
) -> None:
    run = run_call(
        {
            "settings": {"silence_timeout": 5},
            "caller": [
                {"dtmf": "4"},
                {"dtmf": "2", "after_silence": 0.5},
                {"hang_up": True},
            ],
            "agent": [{"reply": "Thanks, I found booking forty-two."}],
        }
    )
    [request] = run.scripted.llm.requests
    assert request[-1].role is MessageRole.USER
    assert request[-1].content == "[keypad] 4 2"
    assert [t.text for t in run.agent_turns] == [GREETING, "Thanks, I found booking forty-two."]
    assert run.call.end_reason is EndReason.CALLER_HUNG_UP


def test_the_events_stored_per_call_are_capped(run_call: RunCall) -> None:
    presses = [{"dtmf": "1", "after_silence": 0.1} for _ in range(12)]
    run = run_call(
        {"caller": [*presses, {"hang_up": True, "after_silence": 0.5}]},
        base=SessionConfig(max_stored_events=5),
    )
    assert len(run.events_of(DtmfReceived)) == 12, "every key press still reaches the engine"
    stored = asyncio.run(run.scripted.repository.events(run.call.id))
    assert len(stored) == 5
    assert run.stored is not None
    assert run.stored.end_reason is EndReason.CALLER_HUNG_UP


def test_a_dropped_recognizer_is_reopened_and_the_call_goes_on(run_call: RunCall) -> None:
    run = run_call(
        {
            "failures": {"stt_after": 3},
            "caller": [{"say": "Hello there"}, {"hang_up": True}],
            "agent": [{"reply": "Hi, how can I help?"}],
        }
    )
    assert [f.stage for f in run.events_of(ProviderFailed)] == ["stt"]
    assert run.scripted.stt.sessions_opened == 2
    assert run.agent_turns[-1].text == "Hi, how can I help?"


def test_the_conversation_state_only_moves_along_legal_paths(run_call: RunCall) -> None:
    run = run_call(
        {
            "caller": [
                {"say": "Do you have a table tonight?"},
                {"say": "Seven please", "into_reply": 2.0},
                {"hang_up": True},
            ],
            "agent": [{"reply": LONG_REPLY}, {"reply": "Booked."}],
        }
    )
    history = run.scripted.started_session._machine.history
    assert history[0] is ConversationState.LISTENING
    assert history[-1] is ConversationState.ENDED
    assert ConversationState.THINKING in history


def test_the_agent_is_speaking_only_once_its_audio_reaches_the_line() -> None:
    """The greeting (a canned line) and a model reply alike: SPEAKING follows the first
    agent audio handed to the transport, never precedes it."""
    entries: list[str] = []

    class LoggedLine(InMemoryCallTransport):
        async def play(self, chunk: AudioChunk) -> None:
            entries.append("audio")
            await super().play(chunk)

    def on_event(event: DomainEvent) -> None:
        if isinstance(event, StateChanged):
            entries.append(event.current.value)

    scenario = parse_scenario(
        {
            "latency": {"tts_ttfb": 0.2},
            "caller": [{"say": "Do you have a table tonight?"}, {"hang_up": True}],
            "agent": [{"reply": "We do."}],
        }
    )

    async def main() -> None:
        await build_scripted_call(scenario, sinks=[on_event], line=LoggedLine).run()

    run_fast_forwarded(main)
    speaking = [i for i, entry in enumerate(entries) if entry == "speaking"]
    assert len(speaking) == 2  # the greeting, the answer
    assert all(i > 0 and entries[i - 1] == "audio" for i in speaking), entries


# -- preemptive generation: the model starts while the end-of-turn delay runs -------------
PREEMPTIVE_CALL = {
    # The final transcript is in 50 ms after speech ends, the model's first token 300 ms
    # later: both together take as long as the 350 ms end-of-turn delay.
    "latency": {"stt_final": 0.05, "llm_ttft": 0.3, "tts_ttfb": 0.1},
    "caller": [{"say": "What are your opening hours?"}, {"hang_up": True}],
    "agent": [{"reply": "We open at nine."}],
}


def test_preemptive_generation_hides_the_models_first_token_time(run_call: RunCall) -> None:
    on = run_call(PREEMPTIVE_CALL).agent_turns[1].latency
    off = run_call(PREEMPTIVE_CALL, base=SessionConfig(preemptive_generation=False))
    off_latency = off.agent_turns[1].latency
    assert on.e2e_ms is not None
    assert off_latency.e2e_ms is not None
    assert on.eou_ms == pytest.approx(350, abs=25)
    assert on.llm_ttft_ms == pytest.approx(300, abs=1)
    # Off: end-of-turn delay + first token + first phrase + synthesis, one after the other.
    # On: max(end-of-turn delay, STT + first token) + first phrase + synthesis.
    assert off_latency.e2e_ms - on.e2e_ms == pytest.approx(300, abs=30)
    first_phrase_ms = 4 / 60 * 1000  # "We open at nine." at 60 tokens per second
    expected = max(350, 50 + 300) + first_phrase_ms + 100
    assert on.e2e_ms == pytest.approx(expected, abs=30)


@pytest.mark.parametrize(
    ("llm_ttft", "cancelled"),
    [(0.3, 0), (1.5, 1)],
    ids=["answer-buffered-in-full", "stream-cancelled-mid-way"],
)
def test_a_preemptive_reply_to_half_a_sentence_is_dropped_unsaid(
    run_call: RunCall, llm_ttft: float, cancelled: int
) -> None:
    run = run_call(
        {
            "latency": {"stt_final": 0.05, "llm_ttft": llm_ttft, "tts_ttfb": 0.1},
            "caller": [
                {"say": "My phone number is"},
                {"say": "five five five, one two three four", "after_silence": 0.9},
                {"hang_up": True},
            ],
            "agent": [{"reply": "Sorry, what is your number?"}, {"reply": "Thanks, I have it."}],
        }
    )
    whole = "My phone number is five five five, one two three four"
    assert [t.text for t in run.caller_turns] == [whole]
    assert [t.text for t in run.agent_turns[1:]] == ["Thanks, I have it."]
    # The model was asked twice: on the half sentence (cancelled), then on the whole.
    llm = run.scripted.llm
    assert [r[-1].content for r in llm.requests] == ["My phone number is", whole]
    assert llm.cancelled == cancelled
    # Nothing of the dropped answer was played, stored or put in the history.
    assert run.stored is not None
    assert all("what is your number" not in t.text for t in run.stored.turns)
    assert all("what is your number" not in m.content for m in llm.requests[1])
    assert len(run.scripted.transport.record.segments) == 2  # the greeting, the answer


def test_barge_in_still_works_with_a_preemptive_reply(run_call: RunCall) -> None:
    run = run_call(
        {
            "latency": {"stt_final": 0.05, "llm_ttft": 0.3, "tts_chars_per_second": 15},
            "caller": [
                {"say": "Do you have a table tonight?"},
                {"say": "Seven is perfect, book it", "into_reply": 2.0},
                {"hang_up": True},
            ],
            "agent": [{"reply": LONG_REPLY}, {"reply": "Booked for seven."}],
        }
    )
    cut = run.agent_turns[1]
    assert cut.interrupted
    assert cut.heard_text
    assert LONG_REPLY.startswith(cut.heard_text.rstrip(".,"))
    # The first answer came before the model's first token would have without preemption.
    assert cut.latency.e2e_ms is not None
    assert cut.latency.e2e_ms < 350 + 300
    assert run.agent_turns[2].text == "Booked for seven."
    second_request = run.scripted.llm.requests[1]
    assert second_request[-2].content == cut.heard_text
    assert second_request[-1].content == "Seven is perfect, book it"
    assert len(run.scripted.llm.requests) == 2
    assert len(run.events_of(CallerInterrupted)) == 1


def test_voice_during_the_end_of_turn_delay_restarts_the_preemptive_reply(
    run_call: RunCall,
) -> None:
    run = run_call(
        {
            "latency": {"stt_final": 0.05, "llm_ttft": 0.3, "tts_ttfb": 0.1},
            "caller": [
                {"say": "What are your opening hours?"},
                {"cough": 0.2, "after_silence": 0.24},
                {"hang_up": True},
            ],
            "agent": [{"reply": "Never heard."}, {"reply": "We open at nine."}],
        }
    )
    question = "What are your opening hours?"
    llm = run.scripted.llm
    # The cough stopped the first stream; the same words were asked again after it.
    assert [r[-1].content for r in llm.requests] == [question, question]
    assert llm.cancelled == 1
    assert [t.text for t in run.caller_turns] == [question]
    assert [t.text for t in run.agent_turns[1:]] == ["We open at nine."]


# -- a recognizer's transcript at a pause (Whisper's guess) starts the reply sooner ---------
def pause_guess_call(guess_s: float | None) -> dict[str, object]:
    """The recognizer has the words `guess_s` into the pause (None: never) but confirms
    them only at 0.25 s (Whisper waits out its voice detector's silence rule); the model
    takes 0.3 s."""
    return {
        "latency": {
            "stt_final": 0.25,
            "stt_pause_guess": guess_s,
            "llm_ttft": 0.3,
            "tts_ttfb": 0.1,
        },
        "caller": [{"say": "What are your opening hours?"}, {"hang_up": True}],
        "agent": [{"reply": "We open at nine."}],
    }


def test_the_words_at_a_pause_start_the_reply_before_the_final_transcript(
    run_call: RunCall,
) -> None:
    guessed = run_call(pause_guess_call(0.05))
    confirmed_only = run_call(pause_guess_call(None))
    on = guessed.agent_turns[1].latency
    off = confirmed_only.agent_turns[1].latency
    assert on.e2e_ms is not None
    assert off.e2e_ms is not None
    first_phrase_ms = 4 / 60 * 1000  # "We open at nine." at 60 tokens per second
    # max(end-of-turn delay, words + first token) + first phrase + synthesis:
    assert on.e2e_ms == pytest.approx(max(350, 50 + 300) + first_phrase_ms + 100, abs=30)
    assert off.e2e_ms == pytest.approx(max(350, 250 + 300) + first_phrase_ms + 100, abs=30)
    # One stream, asked once: the final said what the guess said.
    assert len(guessed.scripted.llm.requests) == 1
    assert guessed.scripted.llm.cancelled == 0
    assert [t.text for t in guessed.agent_turns[1:]] == ["We open at nine."]


def test_a_guess_the_caller_talks_over_stops_its_stream_at_once(run_call: RunCall) -> None:
    run = run_call(
        {
            # The model would take 1.5 s: the guess's stream is still running when the
            # caller goes on 0.15 s into the pause (a breath the line's voice detector,
            # which waits 0.2 s, never reports as the voice's end).
            "latency": {"stt_final": 0.25, "stt_pause_guess": 0.05, "llm_ttft": 1.5},
            "caller": [
                {"say": "What are your opening hours?"},
                {"cough": 0.3, "after_silence": 0.15},
                {"hang_up": True},
            ],
            "agent": [{"reply": "Never heard."}, {"reply": "We open at nine."}],
        }
    )
    question = "What are your opening hours?"
    llm = run.scripted.llm
    assert [r[-1].content for r in llm.requests] == [question, question]
    assert llm.cancelled == 1, "the stream on the withdrawn guess stopped"
    assert [t.text for t in run.caller_turns] == [question]
    assert [t.text for t in run.agent_turns[1:]] == ["We open at nine."]
    assert len(run.scripted.transport.record.segments) == 2  # the greeting, the answer
