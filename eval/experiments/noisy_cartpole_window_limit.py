"""What a learned function of an agent's frame window can do on NoisyCartPole-v0, by imitation of the oracle.

    python -m eval.experiments.noisy_cartpole_window_limit --window 8 --episodes 600 --eval-episodes 50

The windowed oracle (:class:`agents.oracle.WindowedCartPoleOracle`: exact decoding of every bit, a Kalman filter
over the last ``window`` observations, LQR) drives the cart, with a fraction ``explore`` of random actions so that
the states an imperfect agent visits appear too. Its inputs are recorded as an agent with a ``window``-frame stack
sees them (the shared front end's block means of every frame, :class:`agents.frontend.BlockPooling`, and the last
``window`` actions), beside its actions and the true state. Two questions follow, on held-out data:

* Decoding: the error of the best linear read-out of the state from the window (ridge regression) against the
  windowed oracle's own estimate, per variable, as a fraction of the variable's spread.
* Control: a classifier (logistic regression, or a 64-unit MLP) trained on the oracle's actions from the window
  (``--population``: and from every frame's population code, SCAL-RL's ``group_frame_gain`` features), then run in
  closed loop on held-out episode seeds. Its return bounds what a policy of the same form learns from
  that much data of the oracle's behaviour; an RL agent at that level is limited by its input, not by RL.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import gymnasium as gym
import numpy as np
import torch
from torch import nn

from agents.frontend import BlockPooling
from agents.oracle import WindowedCartPoleOracle
from agents.scal.group_prototypes import GroupPrototypes
from envs import cartpole_physics as physics
from train.cli import OneLineParser, check_numbers
from train.environments import EVAL_SEED_OFFSET, import_gym_packages

VARIABLES = ("x", "x_dot", "theta", "theta_dot")


@dataclass
class WindowData:
    """Recorded steps: pooled frames ``(N, window, n_pooled)``, past actions ``(N, window)`` (0/1, oldest first),
    the oracle's actions ``(N,)``, the true states and the oracle's estimates ``(N, 4)``."""

    frames: np.ndarray
    past_actions: np.ndarray
    oracle_actions: np.ndarray
    states: np.ndarray
    oracle_estimates: np.ndarray

    def rows(self, index: slice) -> WindowData:
        """The recorded steps at ``index`` (e.g. the first half)."""
        return WindowData(*(getattr(self, name)[index] for name in WindowData.__dataclass_fields__))

    def inputs(self) -> np.ndarray:
        """What the agent's policy sees, flat: every frame's block means, then the actions in the bipolar code."""
        return np.concatenate([self.frames.reshape(len(self.frames), -1), 2.0 * self.past_actions - 1.0], axis=1)


def run_episodes(
    window: int,
    seeds: Sequence[int],
    pool_size: int = 16,
    explore: float = 0.0,
    rng: np.random.Generator | None = None,
    policy: Callable[[np.ndarray], int] | None = None,
) -> tuple[WindowData, np.ndarray]:
    """Play one episode per seed at the default; ``policy`` (flat window inputs -> action) acts, or the windowed
    oracle when it is ``None``, with a random action instead on a fraction ``explore`` of steps. Returns the
    recorded steps and the episodes' returns."""
    env = gym.make("NoisyCartPole-v0")
    oracle = WindowedCartPoleOracle(env.unwrapped, window=window)
    pooling = BlockPooling(env.observation_space.n, pool_size=pool_size)
    rng = rng if rng is not None else np.random.default_rng(0)
    records: dict[str, list] = {name: [] for name in WindowData.__dataclass_fields__}
    returns = []
    for seed in seeds:
        observation, info = env.reset(seed=int(seed))
        state = oracle.initial_state(1)
        frames = [pooling(torch.as_tensor(observation[None]))[0, 0].numpy()] * window  # the stack starts full
        past = np.zeros(window)
        done, total = False, 0.0
        while not done:
            frames = frames[1:] + [pooling(torch.as_tensor(observation[None]))[0, 0].numpy()]
            oracle_action, state = oracle.predict(observation[None], state)
            step = WindowData(np.stack(frames)[None], past[None].copy(), oracle_action, info["state"][None],
                              state["estimate"].copy())
            action = int(oracle_action[0]) if policy is None else policy(step.inputs()[0])
            if rng.random() < explore:
                action = int(rng.integers(2))
            state["sent"][0, 0] = (2.0 * action - 1.0) * physics.FORCE_MAG  # the force actually sent
            for name in records:
                records[name].append(getattr(step, name))
            past = np.append(past[1:], action)
            observation, reward, terminated, truncated, info = env.step(action)
            done, total = terminated or truncated, total + float(reward)
        returns.append(total)
    env.close()
    return WindowData(*(np.concatenate(records[name]) for name in WindowData.__dataclass_fields__)), np.array(returns)


def normalised_errors(estimates: np.ndarray, states: np.ndarray) -> np.ndarray:
    """Root-mean-square error per variable divided by the variable's standard deviation."""
    return np.sqrt(((estimates - states) ** 2).mean(axis=0)) / states.std(axis=0)


def ridge_decoding_errors(train: WindowData, test: WindowData, penalty: float = 10.0) -> np.ndarray:
    """Normalised error of the ridge regression from the window's inputs to the true state, fitted on ``train``."""
    def design(data: WindowData) -> np.ndarray:
        return np.concatenate([data.inputs(), np.ones((len(data.states), 1))], axis=1)

    x = design(train)
    weights = np.linalg.solve(x.T @ x + penalty * np.eye(x.shape[1]), x.T @ train.states)
    return normalised_errors(design(test) @ weights, test.states)


def population_code(data: WindowData, n_prototypes: int = 16, gain: float = 10.0) -> Callable[[torch.Tensor], torch.Tensor]:
    """The window's inputs followed by every frame's population code (SCAL-RL's ``group_frame_gain`` features):
    per encoded variable, ``n_prototypes`` prototypes moved by the SCAL rule over ``data``'s window means (3
    passes, rate 0.05), read out per frame as ``softmax(gain * cosine)``."""
    window, n_pooled = data.frames.shape[1:]
    groups = GroupPrototypes(n_pooled, n_groups=4, n_prototypes=n_prototypes)
    means = torch.as_tensor(data.frames, dtype=torch.float32).mean(dim=1)
    for _ in range(3):
        for batch in torch.randperm(len(means)).split(256):
            groups.update(means[batch], rate=0.05)

    def features(inputs: torch.Tensor) -> torch.Tensor:
        frames = inputs[:, : window * n_pooled].unflatten(1, (window, n_pooled))
        return torch.cat([inputs, groups.soft_assignments(frames, gain).flatten(1)], dim=1)

    return features


def fit_imitation(
    data: WindowData, hidden: int, epochs: int = 30, seed: int = 0,
    features: Callable[[torch.Tensor], torch.Tensor] | None = None,
) -> Callable[[np.ndarray], int]:
    """A classifier of the oracle's action from the window's inputs (or ``features`` of them; standardised;
    ``hidden`` 0: logistic regression), trained with Adam on cross-entropy; returns the deterministic policy."""
    torch.manual_seed(seed)
    features = features if features is not None else (lambda inputs: inputs)
    x = features(torch.as_tensor(data.inputs(), dtype=torch.float32))
    mean, std = x.mean(dim=0), x.std(dim=0) + 1e-6
    x, y = (x - mean) / std, torch.as_tensor(data.oracle_actions, dtype=torch.long)
    layers = [nn.Linear(x.shape[1], hidden), nn.Tanh(), nn.Linear(hidden, 2)] if hidden else [nn.Linear(x.shape[1], 2)]
    net = nn.Sequential(*layers)
    optimiser = torch.optim.Adam(net.parameters(), lr=1e-3, weight_decay=1e-4)
    for _ in range(epochs):
        for batch in torch.randperm(len(x)).split(256):
            loss = nn.functional.cross_entropy(net(x[batch]), y[batch])
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()

    def policy(inputs: np.ndarray) -> int:
        with torch.no_grad():
            return int(net((features(torch.as_tensor(inputs[None], dtype=torch.float32)) - mean) / std).argmax())

    return policy


def window_limit(
    window: int, episodes: int, eval_episodes: int, explore: float, seed: int, population: bool = False
) -> list[dict]:
    """The rows of the report: the oracle, the ridge decoder and the imitating classifiers (with ``population``
    also on the frames' population codes)."""
    rng = np.random.default_rng(seed)
    data, oracle_returns = run_episodes(window, range(seed, seed + episodes), explore=explore, rng=rng)
    half = len(data.states) // 2
    train, test = data.rows(slice(None, half)), data.rows(slice(half, None))
    eval_seeds = range(EVAL_SEED_OFFSET + seed, EVAL_SEED_OFFSET + seed + eval_episodes)
    _, clean_returns = run_episodes(window, eval_seeds)
    rows = [
        {"method": f"windowed oracle (W={window})", "errors": normalised_errors(test.oracle_estimates, test.states),
         "returns": clean_returns},
        {"method": "ridge read-out of the window", "errors": ridge_decoding_errors(train, test), "returns": None},
    ]
    codes = [(None, "")] + ([(population_code(train), " + population code")] if population else [])
    for features, suffix in codes:
        for hidden, name in ((0, "logistic imitation"), (64, "MLP-64 imitation")):
            policy = fit_imitation(data, hidden, seed=seed, features=features)
            _, returns = run_episodes(window, eval_seeds, policy=policy)
            rows.append({"method": name + suffix, "errors": None, "returns": returns})
    print(f"{len(data.states)} recorded steps, oracle return with {explore:.0%} random actions {oracle_returns.mean():.1f}")
    return rows


def format_rows(rows: list[dict]) -> list[dict]:
    """Rows for the table and the CSV: normalised errors per variable and the return (mean, share >= 195)."""
    table = []
    for row in rows:
        errors, returns = row["errors"], row["returns"]
        line = {"method": row["method"]}
        for index, variable in enumerate(VARIABLES):
            line[f"nrmse_{variable}"] = "" if errors is None else f"{errors[index]:.3f}"
        line["return"] = "" if returns is None else f"{returns.mean():.1f} ± {returns.std():.1f}"
        line["episodes_195"] = "" if returns is None else f"{(returns >= 195).mean():.2f}"
        table.append(line)
    return table


def main(argv: Sequence[str] | None = None) -> list[dict]:
    parser = OneLineParser(description=__doc__.split("\n")[0])
    parser.add_argument("--window", type=int, default=8, help="frames in the window (the agent's frame stack)")
    parser.add_argument("--episodes", type=int, default=600, help="oracle episodes recorded (half train, half test)")
    parser.add_argument("--eval-episodes", type=int, default=50, help="closed-loop episodes per policy")
    parser.add_argument("--explore", type=float, default=0.1, help="fraction of random actions while recording")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--population", action="store_true",
                        help="also imitate from the frames' population codes (SCAL-RL's group_frame_gain features)")
    parser.add_argument("--out", default=None, help="CSV of the table")
    args = parser.parse_args(argv)
    check_numbers(parser, args, positive=["window", "episodes", "eval_episodes"], non_negative=["seed"])
    if not 0.0 <= args.explore <= 1.0:
        parser.error(f"argument --explore: {args.explore} is not in [0, 1]")
    import_gym_packages([])
    rows = window_limit(args.window, args.episodes, args.eval_episodes, args.explore, args.seed, args.population)
    table = format_rows(rows)
    print("| " + " | ".join(table[0]) + " |\n|" + "---|" * len(table[0]))
    for line in table:
        print("| " + " | ".join(line.values()) + " |")
    if args.out:
        with open(args.out, "w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(table[0]))
            writer.writeheader()
            writer.writerows(table)
    return table


if __name__ == "__main__":
    main()
