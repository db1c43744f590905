from voice_agent.application.turn_taking import EndOfTurnPolicy, InterruptionPolicy


def test_a_finished_sentence_waits_the_minimum_and_an_unfinished_one_the_maximum() -> None:
    policy = EndOfTurnPolicy(min_delay_s=0.3, max_delay_s=2.0)
    assert policy.delay_for("Book a table for two.") == 0.3
    assert policy.delay_for("Book a table for two and") == 2.0


def test_interruptions_need_real_words() -> None:
    policy = InterruptionPolicy(min_words=1)
    assert policy.confirmed_by_words("wait")
    assert policy.confirmed_by_words("okay stop")
    assert not policy.confirmed_by_words("mm-hm")
    assert not policy.confirmed_by_words("")


def test_several_words_can_be_required() -> None:
    policy = InterruptionPolicy(min_words=3)
    assert not policy.confirmed_by_words("no wait")
    assert policy.confirmed_by_words("no wait please")


def test_long_voice_without_any_transcript_counts_as_an_interruption() -> None:
    policy = InterruptionPolicy(max_unconfirmed_speech_s=2.0)
    assert policy.confirmed_by_duration(2.1, "")
    assert not policy.confirmed_by_duration(1.0, "")
    assert not policy.confirmed_by_duration(3.0, "mm-hm")
