"""What a call session needs to know besides its ports."""

from __future__ import annotations

from dataclasses import dataclass, field

from voice_agent.application.phrases import PhraseRules
from voice_agent.application.turn_taking import EndOfTurnPolicy, InterruptionPolicy


@dataclass(frozen=True, slots=True)
class Prompts:
    """The agent's canned lines (spoken without the language model)."""

    greeting: str = "Hello, thanks for calling. How can I help you today?"
    apology: str = "Sorry, I had a problem just now. Could you say that again?"
    still_there: str = "Are you still there?"
    silence_goodbye: str = "I haven't heard anything, so I'll hang up now. Goodbye!"
    time_limit: str = "We've reached the time limit for this call. Thank you, goodbye!"
    farewell: str = "Thank you for calling. Goodbye!"
    shutdown_goodbye: str = "I'm sorry, I have to end our call now. Please call us back. Goodbye!"
    """Said to calls still going when the worker stops (after its drain time)."""
    transferring: str = "Let me transfer you now."
    transfer_failed: str = "Sorry, I couldn't transfer you. Can I help with anything else?"
    """A transfer failed for any other reason than the three below."""
    transfer_busy: str = (
        "That line is busy right now, so I couldn't put you through. Can I help with anything else?"
    )
    transfer_declined: str = (
        "I'm sorry, they can't take your call right now. Can I help with anything else?"
    )
    transfer_no_answer: str = (
        "Nobody is answering on that line at the moment. Can I help with anything else?"
    )


@dataclass(frozen=True, slots=True)
class SessionConfig:
    system_prompt: str = (
        "You are a friendly phone receptionist. Answer in one or two short sentences."
    )
    prompts: Prompts = field(default_factory=Prompts)
    end_of_turn: EndOfTurnPolicy = field(default_factory=EndOfTurnPolicy)
    interruption: InterruptionPolicy = field(default_factory=InterruptionPolicy)
    phrases: PhraseRules = field(default_factory=PhraseRules)
    silence_timeout_s: float = 8.0
    """Caller silence before "are you still there?"; a second one ends the call."""
    max_call_duration_s: float = 1800.0
    history_token_budget: int = 2000
    transfer_destination: str | None = None
    """Where `transfer_call` sends the caller; the tool is offered only when set."""
    max_stored_events: int = 500
    """Events stored per call (key presses, interruptions, failures...); a caller pressing
    keys all call long must not grow the database without bound. Later ones are dropped."""
    keypad_turn_delay_s: float = 2.0
    """After the caller's last key press (with nobody speaking), how long to wait for more
    before the model answers the keys; `#` ends the entry at once."""
    final_transcript_grace_s: float = 1.0
    """After speech ends, how long to wait for a final transcript before using the interim."""
    preemptive_generation: bool = True
    """Ask the model as soon as the caller's final transcript is in, while the end-of-turn
    delay still runs; the answer is spoken only once the turn is taken, and dropped unsaid if
    the caller goes on."""
