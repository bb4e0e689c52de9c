import os
from pathlib import Path

import pytest
import torch

torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """The shared datasets folder (MINRNN_DATA_DIR); tests that need it skip with the reason when absent."""
    env = os.environ.get("MINRNN_DATA_DIR")
    if not env or not Path(env).is_dir():
        pytest.skip(f"datasets not found: set MINRNN_DATA_DIR to the shared data folder (got {env!r})")
    return Path(env)
