"""Tasks: each module has ``main(argv) -> int`` and is reached through ``minrnn train TASK``."""
