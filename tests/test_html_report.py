"""eval.report: the self-contained HTML page of a leaderboard or a run folder, checked in headless Chromium."""

from __future__ import annotations

import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest
from PIL import Image

from eval.leaderboard import main as leaderboard_main
from eval.report import cli, write_report
from tests.cli_checks import one_line_error
from train.run import main as train_main

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
SMALL = ["--env-kwargs", "bits_per_variable:64"]


class TableReader(HTMLParser):
    """Cells of ``#results-table``: the header row and the body rows."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[list[str]] = []
        self._inside = False
        self._cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        if tag == "table" and ("id", "results-table") in attrs:
            self._inside = True
        elif self._inside and tag == "tr":
            self.rows.append([])
        elif self._inside and tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag):
        if tag == "table":
            self._inside = False
        elif self._inside and tag in ("td", "th") and self._cell is not None:
            self.rows[-1].append("".join(self._cell))
            self._cell = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def results_table(page: str) -> list[dict[str, str]]:
    reader = TableReader()
    reader.feed(page)
    header, *rows = reader.rows
    return [dict(zip(header, row, strict=True)) for row in rows]


@pytest.fixture(scope="module")
def leaderboard(tmp_path_factory):
    """A leaderboard of random and oracle on a small NoisyCartPole (nothing trained), written with ``--report``."""
    out = tmp_path_factory.mktemp("leaderboard")
    for agent in ("random", "oracle"):
        train_main(["--agent", agent, "-f", str(out / "runs"), "--final-eval-episodes", "2", "--no-tensorboard",
                    "--verbose", "0", *SMALL])  # fmt: skip
    leaderboard_main(["--agents", "random", "oracle", "--seeds", "0", *SMALL, "--reuse-only", "--report",
                      "--final-eval-episodes", "2", "--bootstrap-reps", "50", "-o", str(out)])  # fmt: skip
    return out


def test_leaderboard_report_puts_chance_and_oracle_beside_each_score(leaderboard):
    page = (leaderboard / "report.html").read_text()
    rows = {row["agent"]: row for row in results_table(page)}
    assert set(rows) == {"random", "oracle"}
    for row in rows.values():  # both from the table's own rows
        assert row["chance (random)"] == rows["random"]["return (mean ± std)"]
        assert row["oracle"] == rows["oracle"]["return (mean ± std)"]
    assert rows["random"]["score (chance 0, oracle 1)"] == "0.00"
    assert rows["oracle"]["score (chance 0, oracle 1)"] == "1.00"
    assert page.count('src="data:image/png;base64,') == 1  # the learning curves
    assert page.count('src="data:video/mp4;base64,') == 1 and 'id="episode-video"' in page
    assert "eval/leaderboard.py" in page and "env_id: NoisyCartPole-v0" in page  # command and config
    assert not re.search(r'(src|href)="(https?:)?//', page)  # self-contained: nothing fetched


def test_run_folder_report_measures_missing_references(leaderboard, tmp_path):
    run = next((leaderboard / "runs").glob("*random*"))
    path = write_report(run, tmp_path / "run.html", reference_episodes=2, max_frames=10)
    page = path.read_text()
    (row,) = results_table(page)
    assert row["agent"] == "random" and row["chance (random)"] != "—" and row["oracle"] != "—"
    assert row["chance (random)"] == row["return (mean ± std)"]  # the run is the chance row itself
    assert page.count("measured for this report") == 1
    assert "oracle for NoisyCartPole-v0 bits_per_variable=64: agent oracle, 2 evaluation episodes" in page
    assert "first 10 steps shown" in page or "in 10 steps" in page


def test_bad_arguments_end_in_one_line(leaderboard, tmp_path, capsys):
    assert "does not exist" in one_line_error(capsys, cli, [str(tmp_path / "missing")])
    assert "neither a run folder" in one_line_error(capsys, cli, [str(tmp_path)])
    no_model = tmp_path / "no_model"
    shutil.copytree(next((leaderboard / "runs").glob("*oracle*")), no_model, ignore=shutil.ignore_patterns("model.*"))
    assert "no model.zip" in one_line_error(capsys, cli, [str(no_model)])


def chromium(*args: str, profile: Path) -> subprocess.CompletedProcess:
    command = [CHROMIUM, "--headless", "--disable-gpu", "--no-sandbox", "--no-first-run", "--mute-audio",
               f"--user-data-dir={profile}", *args]  # fmt: skip
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (apt-get install chromium; .ci/run does it)")
def test_report_opens_in_headless_chromium(leaderboard, tmp_path):
    url = (leaderboard / "report.html").resolve().as_uri()
    shot = tmp_path / "screenshot.png"
    chromium("--hide-scrollbars", f"--screenshot={shot}", "--window-size=1280,900", url, profile=tmp_path / "a")
    with Image.open(shot) as image:
        assert image.size == (1280, 900) and len(image.getcolors(1 << 20) or []) > 50  # drawn, not blank
    done = chromium("--enable-logging=stderr", "--v=0", "--virtual-time-budget=10000", "--dump-dom", url,
                    profile=tmp_path / "b")  # fmt: skip
    dom = done.stdout
    assert [line for line in done.stderr.splitlines() if ":CONSOLE" in line] == []  # no console messages at all
    status = re.search(r'<p id="page-status"[^>]*>', dom).group(0)
    assert 'data-errors="0"' in status
    duration = float(re.search(r'data-video-duration="([0-9.]+)"', status).group(1))
    frames = int(re.search(r"return \S+ in (\d+) steps", dom).group(1))
    assert duration == pytest.approx(min(frames, 300) / 50, abs=0.05)  # 50 fps, NoisyCartPole's render_fps
    assert len(results_table(dom)) == 2


def test_sweep_leaderboard_without_run_folders(tmp_path):
    """A committed leaderboard (no run folders kept): every row, its sweep figure, chance and oracle per noise level."""
    folder = Path(__file__).parent.parent / "eval/results/leaderboard/noise_sweep_references"
    page = write_report(folder, tmp_path / "sweep.html", video=False).read_text()
    rows = results_table(page)
    assert len(rows) == 14 and {row["env kwargs"] for row in rows} == {f"flip_prob={p}" for p in
                                                                      (0.0, 0.1, 0.2, 0.3, 0.4, 0.45, 0.5)}  # fmt: skip
    for row in rows:
        same_noise = {other["agent"]: other for other in rows if other["env kwargs"] == row["env kwargs"]}
        assert row["chance (random)"] == same_noise["random"]["return (mean ± std)"]
        assert row["oracle"] == same_noise["oracle"]["return (mean ± std)"]
    assert page.count('src="data:image/png;base64,') == 2  # learning curves and the sweep
    assert "Video left out" in page and "<video" not in page
