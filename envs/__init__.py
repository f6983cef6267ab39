"""Gymnasium suite of neuromorphic RL problems. Importing this package registers every id."""

from gymnasium.envs.registration import register

register(
    id="NoisyCartPole-v0",
    entry_point="envs.noisy_cartpole:NoisyCartPoleEnv",
    vector_entry_point="envs.noisy_cartpole_vector:NoisyCartPoleVectorEnv",
    max_episode_steps=200,
    reward_threshold=195.0,
)
