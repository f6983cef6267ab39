"""SCAL-RL as Stable-Baselines3 components (docs/scal_rl.md).

Four layers from the SCAL-RL integration spec: perception (:mod:`agents.scal.perception`, spiking
features extractor with prototypes and adaptive thresholds), episodic memory (:mod:`agents.scal.memory`),
value statistics with a UCB bonus and spiking TD (:mod:`agents.scal.value`), and the action layer
(:mod:`agents.scal.policies` for DQN and PPO/A2C, :mod:`agents.scal.algorithms` for DQN with spiking TD).
:mod:`agents.scal.stateful` carries the perception's membranes across env steps as a recurrent policy state.
"""
