"""One way to validate configuration files: typed models that report every problem at once.

params.yaml (:mod:`mlgate.params`), slices (:mod:`mlgate.slices`) and the behavioral spec
(:mod:`mlgate.behavioral.spec`) are pydantic dataclasses built from the field types in
:mod:`mlgate.config.fields`; :func:`validate` runs one pass and raises a ParamsError whose
lines each start with the dotted location of a problem (``messages``). ``schemas`` writes
their JSON Schemas for editors.
"""

from __future__ import annotations

from mlgate.config.messages import show_value
from mlgate.config.validate import join_problems, validate

__all__ = ["join_problems", "show_value", "validate"]
