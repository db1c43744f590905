"""The in-memory phone line: a real `CallTransport` over memory, paced in real (or loop)
time and recorded, driven by a scripted caller or a recorded one. Scripted calls
(`voice-agent call --script`), recorded-caller calls (`voice-agent call FILE.wav`), the
end-to-end tests and the benchmarks run on it."""
