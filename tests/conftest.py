import os
import sys

# Small matrices everywhere: threaded BLAS only adds spin-wait overhead (and last-bit differences)
for _var in ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402
import pytest

sys.path.insert(0, os.path.dirname(__file__))

from hypothesis import settings

settings.register_profile("ccsolve", deadline=None, max_examples=25, derandomize=True)
settings.load_profile("ccsolve")


@pytest.fixture(scope="session")
def embedding_m():
    import ccsolve

    return ccsolve.mixing.embedding(100, 1000, seed=1)
