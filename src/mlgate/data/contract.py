"""Data contracts: a pandera schema in a YAML file, validated lazily, failures summarised.

The contract is data, not code: users edit ``contracts/*.yaml`` for their own tables. Dataset
level rules that pandera has no built-in for are registered here as named checks, so they
round-trip through ``DataFrameSchema.to_yaml`` / ``from_yaml``:

* ``unique_values`` (column): every value occurs once. Integer columns use a sort, which is
  about 20x faster than pandas' hash-based ``unique`` at 10 million rows, and a strictly
  increasing column (the usual generated or exported id) is recognised in one linear pass.
* ``min_rows`` (dataframe): at least ``min_value`` rows.
* ``column_mean_between`` (dataframe): the mean of ``column`` lies in [min_value, max_value].
* ``value_share_between`` (dataframe): the share of rows where ``column == value`` lies in
  [min_value, max_value]; used for the positive-class rate, which also rules out a
  single-class target.

Execution: :func:`validate` first runs a *pass prover* (:mod:`.contract_prover`) that
answers, per column and per dataset check, "does pandera certainly pass this?" with cheap
whole-column work: one
min/max pass for range checks, the column's distinct values for checks that pandera itself
declares ``determined_by_unique`` (isin, str_matches, ...), ``hasnans`` for nullability, and
pandera's own dtype, coercion and check functions applied to those small inputs. Pandera then
validates lazily only what the prover could not clear, on the same frame, so every failure
case (column, check, value, row) is pandera's own, and on clean data pandera's per-row
machinery never runs. Schemas using features the prover does not model (index, parsers,
regex column names, ordered, defaults, ...) go to pandera whole.

Modules: the named checks in :mod:`.contract_checks`, the prover in :mod:`.contract_prover`,
failure tables in :mod:`.contract_failures`, drafting a contract in :mod:`.contract_draft`.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pandera.pandas as pa
from pandera.errors import SchemaDefinitionError, SchemaError, SchemaErrors

from mlgate.data.contract_checks import register
from mlgate.data.contract_failures import normalise, summarise
from mlgate.data.contract_prover import prove
from mlgate.errors import ContractError
from mlgate.io import read_yaml

register()  # before any contract is loaded: it may name the checks registered there


def load_contract(path: str | Path) -> pa.DataFrameSchema:
    """Load a pandera YAML contract; errors name the file and what is wrong with it."""
    from pandera.io.pandas_io import deserialize_schema

    path = Path(path)
    raw = read_yaml(
        path,
        what="contract",
        error=ContractError,
        missing=" does not exist; expected a pandera YAML schema",
    )
    if not isinstance(raw, dict) or not isinstance(raw.get("columns"), dict):
        raise ContractError(
            f"contract {path}: expected a pandera schema with a 'columns' mapping "
            "(see contracts/churn.yaml)"
        )
    try:
        # The data already parsed within bounds; from_yaml would parse the text again.
        return deserialize_schema(raw)
    except (SchemaDefinitionError, AttributeError, KeyError, TypeError, ValueError) as exc:
        raise ContractError(f"contract {path} is not a valid pandera schema: {exc}") from exc


@dataclass(frozen=True)
class ValidationResult:
    passed: bool
    n_rows: int
    failure_cases: pd.DataFrame  # column, check, failure_case, index (index None = dataset level)
    summary: list[dict[str, Any]]  # one entry per (column, check)
    validated: pd.DataFrame | None


def validate(
    frame: pd.DataFrame,
    schema: pa.DataFrameSchema,
    *,
    max_examples: int = 5,
    fast: bool = True,
) -> ValidationResult:
    """Validate lazily (every failure in one pass); never raises on a data failure.

    ``fast=False`` runs pandera on the whole schema; ``fast=True`` (the default) lets the pass
    prover clear what it can first. Both give the same verdict, failure cases and summary.
    """
    proof = prove(frame, schema) if fast else None
    if proof is None:
        return _run_pandera(frame, schema, max_examples)
    proven, columns, checks = proof
    if not columns and not checks:
        return ValidationResult(True, len(frame), _no_failures(), [], proven)
    # Unproven columns are validated from their original values; proven ones are already
    # coerced exactly as pandera would coerce them, so dataset checks see the same frame.
    data = proven.copy(deep=False)
    for name in columns:
        data[name] = frame[name]
    rest = copy.copy(schema)
    rest.columns = {name: schema.columns[name] for name in columns}
    rest.checks = [schema.checks[i] for i in checks]
    rest.strict = False  # the column set was proven already
    return _run_pandera(data, rest, max_examples, inplace=True)


def _run_pandera(
    frame: pd.DataFrame, schema: pa.DataFrameSchema, max_examples: int, *, inplace: bool = False
) -> ValidationResult:
    try:
        validated = schema.validate(frame, lazy=True, inplace=inplace)
    except SchemaErrors as exc:
        cases = normalise(exc.failure_cases)
        return ValidationResult(False, len(frame), cases, summarise(cases, max_examples), None)
    except SchemaError as exc:  # raised by some backends even in lazy mode
        cases = normalise(
            pd.DataFrame(
                [
                    {
                        "column": getattr(exc.schema, "name", None),
                        "check": str(exc.check),
                        "failure_case": str(exc),
                        "index": None,
                    }
                ]
            )
        )
        return ValidationResult(False, len(frame), cases, summarise(cases, max_examples), None)
    return ValidationResult(True, len(frame), _no_failures(), [], validated)


def _no_failures() -> pd.DataFrame:
    return pd.DataFrame(columns=["column", "check", "failure_case", "index"])
