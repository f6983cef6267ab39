"""Agents: registry of SB3 algorithms, SCAL-RL policies and non-learning reference agents."""

from agents.registry import AGENTS, AgentEntry, get_entry, load_agent, make_agent, register_agent

__all__ = ["AGENTS", "AgentEntry", "get_entry", "load_agent", "make_agent", "register_agent"]
