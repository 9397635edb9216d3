import os
import sys

import numpy as np
import pytest

sys.path.insert(0, os.path.dirname(__file__))

from hypothesis import settings

settings.register_profile("ccsolve", deadline=None, max_examples=25, derandomize=True)
settings.load_profile("ccsolve")


@pytest.fixture(scope="session")
def embedding_m():
    import ccsolve

    return ccsolve.mixing.embedding(100, 1000, seed=1)
