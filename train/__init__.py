"""Training: the ``train/run.py`` CLI and the pieces it composes."""
