"""Gymnasium suite of neuromorphic RL problems. Importing this package registers every id."""

from gymnasium.envs.registration import register

register(
    id="NoisyCartPole-v0",
    entry_point="envs.noisy_cartpole:NoisyCartPoleEnv",
    vector_entry_point="envs.noisy_cartpole_vector:NoisyCartPoleVectorEnv",
    max_episode_steps=200,
    reward_threshold=195.0,
)
register(
    id="NoisyCartPoleStream-v0",  # docs/continual_learning.md: the observation code switches among tasks
    entry_point="envs.noisy_cartpole_stream:NoisyCartPoleStreamEnv",
    max_episode_steps=200,
)

# Synapse-plasticity environments (docs/synapse.md): one id per scenario; kwargs documented in
# envs.synapse.config.SynapseEnvConfig, plus the reward variants' (envs.synapse.variants, docs/synapse_variants.md)
# that the entry point applies as wrappers. Episode = one image of n_steps simulation steps (termination).
for _scenario, _env_id in {
    "unsup_single": "SynapseUnsupSingle-v0",
    "unsup_dual": "SynapseUnsupDual-v0",
    "grad_mimicry": "SynapseGradMimicry-v0",
    "semi": "SynapseSemi-v0",
}.items():
    register(id=_env_id, entry_point="envs.synapse.variants:make_synapse_env", kwargs={"scenario": _scenario})

register(
    id="MetaUtility-v0",
    entry_point="envs.meta_utility.env:MetaUtilityEnv",
)

# NoisyPong (docs/noisy_pong.md): ALE Pong, Atari preprocessing, binarised 84x84 frames, pixel
# flips and a random frame delay. The class name avoids "AtariEnv" so RL Zoo does not re-apply its AtariWrapper.
register(
    id="NoisyPong-v0",
    entry_point="envs.noisy_pong:NoisyPongEnv",
)
