"""Shared entry point for the stage scripts: user mistakes become a message and an exit code."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable

from mlgate import log
from mlgate.errors import MlgateError
from mlgate.io import MEMORY_ERROR_MESSAGE, os_error_message

# Results must not depend on how many cores a machine has: BLAS and OpenMP reductions can
# change the last bits of a float with the thread count. These variables reach child
# processes only (stage scripts import numpy before this module), so model fitting is pinned
# at run time with threadpoolctl in stages/train.py; scoring, whose per-row results do not
# depend on the thread count, keeps every core.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")


def run(main: Callable[[], int | None]) -> None:
    """Call a stage's ``main``; map MlgateError, OSError and MemoryError to one ``error:``
    line and an exit code (no traceback: those are for mlgate's own bugs)."""
    try:
        code = main()
    except MlgateError as exc:
        log.error(str(exc))
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        log.error("interrupted; previous outputs are left as they were")
        sys.exit(130)
    except OSError as exc:  # a full disk, a permission, a directory where a file should be
        log.error(os_error_message(exc))
        sys.exit(2)
    except MemoryError:
        log.error(MEMORY_ERROR_MESSAGE)
        sys.exit(2)
    sys.exit(code or 0)
