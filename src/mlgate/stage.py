"""Shared entry point for the stage scripts: user mistakes become a message and an exit code."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable

from mlgate import log
from mlgate.errors import MlgateError

# Results must not depend on how many cores a machine has: BLAS and OpenMP reductions can
# change the last bits of a float with the thread count. The environment variables reach
# child processes; stage scripts import numpy before this module, so the pools already
# loaded in this process are limited at run time with threadpoolctl (see run()).
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")


def run(main: Callable[[], int | None]) -> None:
    """Call a stage's ``main``; map MlgateError to a clean message and its exit code."""
    from threadpoolctl import threadpool_limits

    try:
        with threadpool_limits(limits=1):
            code = main()
    except MlgateError as exc:
        log.error(str(exc))
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        log.error("interrupted; previous outputs are left as they were")
        sys.exit(130)
    sys.exit(code or 0)
