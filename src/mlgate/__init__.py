"""mlgate: decide, with statistical evidence, whether a new model may replace the champion."""

__version__ = "0.1.0"
