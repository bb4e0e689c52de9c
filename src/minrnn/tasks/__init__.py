"""Training tasks (each module exposes ``main(argv) -> int`` for ``minrnn train TASK`` and
``run(config)``)."""
