"""The README's headline results equal the committed result files, and the project text stays a user's text.

The headline table of README.md is parsed cell by cell; every number in its score, chance and reference cells
is compared, at the README's rounding, with the value recomputed from the CSV or Markdown file it comes from.
"""

import csv
import re
import statistics
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "eval" / "results"
README = ROOT / "README.md"
MAX_README_BYTES = 10 * 1024
DIGIT_CHANCE = 0.10  # ten digit classes
NUMBER = re.compile(r"[−-]?\d+(?:\.\d+)?")
# History of the work rather than the software: sessions, "the bar", issue numbers, design-section citations,
# numbered stops.
HISTORY = re.compile(
    r"\bsessions?\b|\bthe bar\b|\bbar (?:is )?met\b|\bissues?\b|DESIGN(?:\.md)?\s*§|\bstop \d+",
    re.IGNORECASE,
)


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def _leaderboard(path: str, agent: str) -> list[float]:
    """Mean and std of an agent's row in a leaderboard CSV (eval/leaderboard.py, eval/experiments/scal_report.py)."""
    (row,) = [row for row in _rows(RESULTS / path) if row["agent"] == agent]
    return [float(row["mean"]), float(row["std"])]


def _synapse(path: str, rule: str, third_factor: str) -> list[float]:
    """Mean ± population std of the held-out accuracy over seeds, as `synapse_learning.py --summary` prints it."""
    values = [
        float(row["accuracy"])
        for row in _rows(RESULTS / "synapse" / path)
        if row["rule"] == rule and row["third_factor"] == third_factor
    ]
    assert values, f"no rows for {rule!r} / {third_factor!r} in {path}"
    return [statistics.fmean(values), statistics.pstdev(values)]


def _markdown_row(path: str, *first_cells: str) -> list[str]:
    """The cells of the first Markdown table row of a results file that starts with the given cells."""
    for line in (RESULTS / path).read_text().splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if cells[: len(first_cells)] == list(first_cells):
            return cells
    raise AssertionError(f"no row {first_cells} in {path}")


def _noisy_pong_oracle() -> list[float]:
    """The NoisyPong oracle at the default camera (flip 0.2, delay 1): mean ± std over seeds."""
    (row,) = [row for row in _rows(RESULTS / "noisy_pong/oracle/solvability.csv")
              if (row["agent"], row["flip_prob"], row["delay"]) == ("oracle", "0.2", "1")]  # fmt: skip
    return [float(row["mean"]), float(row["std"])]


def _meta_utility() -> dict[str, list[float]]:
    rows = _rows(RESULTS / "meta_utility" / "curves.csv")
    ppo = [float(row["accuracy"]) * 100 for row in rows if row["agent"] == "ppo" and row["eta"] == "0.05"]
    (full,) = [float(row["accuracy"]) * 100 for row in rows if row["agent"] == "all_blocks"]
    summary = _markdown_row("meta_utility/summary.md", "ppo", "0.05")
    return {
        "score": [statistics.fmean(ppo), statistics.pstdev(ppo)],
        "chance": [DIGIT_CHANCE * 100, float(summary[7])],
        "reference": [full, float(summary[6])],
    }


def _expected() -> dict[tuple[str, str], dict[str, list[float]]]:
    """(problem, agent) cells of the README table → the numbers its score, chance and reference cells must show."""
    fair = "noisy_cartpole/fair_100k/leaderboard.csv"
    cartpole = {"chance": _leaderboard(fair, "random"), "reference": _leaderboard(fair, "oracle")}
    semi = "ppo+per_event@eta0.5+homeo+centred+replay+val+lin+best2", "@eta0.5+homeo+centred"
    return {
        **{
            ("NoisyCartPole-v0, 45% flips (return)", f"`{agent}`, 100k steps, 5"): {
                "score": _leaderboard(fair, agent), **cartpole
            }
            for agent in ("scal_rl", "scal_rl_subspace_only", "ppo_frontend_8frames", "ppo")
        },
        ("NoisyPong-v0 (raw score)", "`ppo`, 1M steps, 3"): {
            "score": _leaderboard("noisy_pong/default_1m/leaderboard/leaderboard.csv", "ppo"),
            "chance": _leaderboard("noisy_pong/default_1m/leaderboard/leaderboard.csv", "random"),
            "reference": [*_noisy_pong_oracle(), *_leaderboard("noisy_pong/clean_100k/leaderboard.csv", "dqn")],
        },
        ("SynapseGradMimicry-v0 (held-out accuracy)", "`ppo`, per-event credit, 3"): {
            "score": _synapse("grad_mimicry_per_event.csv", "ppo+per_event", "teacher"),
            "chance": [DIGIT_CHANCE, *_synapse("grad_mimicry_eta002.csv", "zero", "teacher")],
            "reference": _synapse("grad_mimicry_eta002.csv", "true_gradient", "teacher"),
        },
        ("SynapseSemi-v0 (held-out accuracy)", "`ppo`, best of 2 restarts, 10"): {
            "score": _synapse("semi_replay.csv", semi[0], "teacher"),
            "chance": [DIGIT_CHANCE, *_synapse("semi_replay.csv", "zero" + semi[1], "teacher")],
            "reference": _synapse("semi_replay.csv", "three_factor" + semi[1], "teacher"),
        },
        ("SynapseUnsupSingle-v0, 28×28 digits (held-out accuracy)", "`pair_rule` searched without labels, η 0.1, 3"): {
            "score": _synapse("rule_search/eta_reconstruction/env_all_events.csv", "pair_rule", "none"),
            "chance": [DIGIT_CHANCE, *_synapse("unsup_single_full.csv", "zero", "none")],
            "reference": _synapse("rule_search/env_all_events.csv", "stdp", "none"),
        },
        ("MetaUtility-v0, η 0.05 (test accuracy %)", "`ppo`, 60k steps, 3"): _meta_utility(),
    }


def _headline_table() -> dict[tuple[str, str], dict[str, str]]:
    """The README's results table: (problem, agent) → {"score", "chance", "reference"} cell text."""
    text = README.read_text().split("## Results", 1)[1]
    table = {}
    for line in text.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) != 5 or cells[0] in ("problem (metric)", "---"):
            continue
        table[cells[0], cells[1]] = dict(zip(("score", "chance", "reference"), cells[2:], strict=True))
    return table


def _as_shown(value: float, shown: str) -> str:
    """``value`` rounded to the decimals of the README's ``shown`` number."""
    decimals = len(shown.split(".")[1]) if "." in shown else 0
    return f"{value:.{decimals}f}"


def _shown_numbers(cell: str) -> list[str]:
    return [number.replace("−", "-") for number in NUMBER.findall(cell)]


def test_the_headline_table_has_exactly_the_rows_backed_by_result_files():
    assert set(_headline_table()) == set(_expected())


@pytest.mark.parametrize("row", sorted(_expected()), ids=lambda row: f"{row[0]} | {row[1]}")
def test_a_headline_number_equals_its_result_file_at_the_readmes_rounding(row):
    shown_row = _headline_table()[row]
    for column, expected in _expected()[row].items():
        shown = _shown_numbers(shown_row[column])
        assert len(shown) == len(expected), f"{column}: README shows {shown}, the results give {expected}"
        recomputed = [_as_shown(value, number) for value, number in zip(expected, shown, strict=True)]
        assert shown == recomputed, f"{column} of {row}"


def test_the_readme_is_a_short_guide():
    size = len(README.read_bytes())
    assert size <= MAX_README_BYTES, f"README.md has {size} bytes, more than {MAX_README_BYTES}"


def _tracked_project_text() -> list[Path]:
    listed = subprocess.run(
        ["git", "ls-files", "--", "README.md", "CHANGELOG.md", "docs", "eval/results"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    return [ROOT / name for name in listed if name.endswith(".md")]


def test_readme_docs_and_results_speak_of_the_software_not_of_the_work():
    files = _tracked_project_text()
    assert README in files and len(files) > 10
    hits = [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
        for path in files
        if path.exists()
        for number, line in enumerate(path.read_text().splitlines(), start=1)
        if HISTORY.search(line)
    ]
    assert not hits, "history of the work in project text:\n" + "\n".join(hits)


def test_the_history_pattern_catches_what_it_is_for():
    # The examples are joined at run time so that a grep of the tree for these words finds none here.
    parts = (("in session", "9"), ("Sessions", "9-10"), ("the", "bar is met"), ("issue", "25"), ("DESIGN", "§2.3"),
             ("DESIGN.md", "§3"), ("stop", "4"))  # fmt: skip
    for text in (" ".join(pair) for pair in parts):
        assert HISTORY.search(text), text
    for text in ("the oracle holds 200", "designed rule", "a barrier", "stopped at 60%"):
        assert not HISTORY.search(text), text
