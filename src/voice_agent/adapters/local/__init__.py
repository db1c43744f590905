"""The embedded local stack: models shipped inside PyPI packages, run on the CPU.

OpenMP threads (llama.cpp's, and the copy inside CTranslate2 that Whisper runs on) spin
while they wait for work by default. On two cores shared with another busy thread a spinning
thread holds a core its sibling needs: llama.cpp with two threads fell from 54 to 4 tokens/s
beside one busy process. Passive waiting costs little when the machine is quiet and keeps
generation near full speed when it is not (docs/performance.md, "llama.cpp build and
threads"). OpenMP reads the policy once, when its library loads, so it is set here, before
any model library is imported; an operator's own `OMP_WAIT_POLICY` wins.
"""

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
