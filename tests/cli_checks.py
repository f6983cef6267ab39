"""Checks shared by the command-line tests: bad input ends in one line."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import pytest


def one_line_error(capsys: pytest.CaptureFixture, cli: Callable[[Sequence[str]], None], argv: Sequence[str]) -> str:
    """Run ``cli(argv)``, assert it exits with status 2 and one ``PROG: error:`` line on stderr, and return that line."""
    with pytest.raises(SystemExit) as exit_info:
        cli(argv)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and err.startswith("python -m eval.") and ": error: " in err
    return err
