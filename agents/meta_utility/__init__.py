"""Non-learning reference agents for MetaUtility-v0 (all blocks, random skipping, confidence exit)."""

from agents.meta_utility.baselines import AllBlocksAgent, ConfidenceExitAgent, RandomSkipAgent

__all__ = ["AllBlocksAgent", "ConfidenceExitAgent", "RandomSkipAgent"]
