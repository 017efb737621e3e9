"""mlgate: decide, with statistical evidence, whether a new model may replace the champion."""

import sys

# pandera imports pyspark.pandas whenever PySpark is installed (mlgate[spark], the test
# environment), only so that pyspark can patch pandas' type hints, which mlgate never uses. It
# cost every process that imports pandera ~0.12 s and printed PySpark's "pandas 3 is not fully
# supported" FutureWarning, breaking one-line errors. A None entry makes that import fail,
# which pandera ignores; the Spark engine uses the DataFrame API only, never pyspark.pandas.
sys.modules.setdefault("pyspark.pandas", None)  # type: ignore[arg-type]

__version__ = "0.1.0"
