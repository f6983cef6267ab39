"""Evaluation: result tables, leaderboards, sweeps and plots."""
