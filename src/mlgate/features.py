"""Feature transformers and the column-wise preprocessor, configured by a :class:`FeatureSpec`.

Nothing here knows a column name: which column gets which treatment comes from the spec, which
the params loader builds from params.yaml, so a user's own table works without code changes.

The transformers follow scikit-learn's conventions so they survive ``clone``, pickling,
``Pipeline``/``ColumnTransformer`` and ``set_output(transform="pandas")``: parameters are only
stored in ``__init__``, validated in ``fit``, and learned state ends in ``_``. They read pandas
DataFrames column by column (keeping each column's dtype, which a single numpy array would lose)
and return float64 arrays.

Missing values, by transformer (each choice keeps ``transform`` total, i.e. it never crashes on
a value it has not seen):

* :class:`FrequencyEncoder`: unseen categories and missing values -> 0.0, the share a category
  that never occurred in training has.
* :class:`CyclicalDateEncoder`: missing dates -> (sin, cos) = (0, 0), the centre of the circle,
  equidistant from every real date, so a missing date pulls towards no particular season.
* :class:`DaysSince`: missing dates -> NaN; :func:`build_preprocessor` then imputes the training
  median, exactly as for numeric columns.

Dates are datetime64 columns or ISO-8601 strings. A value that is present but cannot be parsed
raises :class:`~mlgate.errors.DataError` rather than turning silently into "missing": a spec
pointing a date treatment at the wrong column must fail loudly.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import sparse
from sklearn.base import BaseEstimator, OneToOneFeatureMixin, TransformerMixin
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler
from sklearn.utils.validation import check_is_fitted, validate_data

from mlgate.errors import DataError, ParamsError

__all__ = [
    "MISSING_CATEGORY",
    "CyclicalDateEncoder",
    "DaysSince",
    "FeatureSpec",
    "FrequencyEncoder",
    "build_preprocessor",
    "categories_as_strings",
    "category_strings",
]

# The params section the spec is read from; used only to name keys in error messages.
_SECTION = "features"

# One-hot columns give missingness its own indicator: "missing" is often informative (no
# contract type recorded) and must not be blurred into the most frequent real category.
MISSING_CATEGORY = "__missing__"

# Periodic date parts: part -> function of a datetime Series giving the phase in [0, 1).
_PHASES: dict[str, Any] = {
    "month": lambda d: (d.dt.month - 1) / 12.0,
    "quarter": lambda d: (d.dt.quarter - 1) / 4.0,
    "dayofweek": lambda d: d.dt.day_of_week / 7.0,
    "dayofmonth": lambda d: (d.dt.day - 1) / d.dt.days_in_month,
    "dayofyear": lambda d: (d.dt.day_of_year - 1) / np.where(d.dt.is_leap_year, 366.0, 365.0),
    "hour": lambda d: (d.dt.hour + d.dt.minute / 60.0) / 24.0,
}
CYCLICAL_PARTS: tuple[str, ...] = tuple(_PHASES)


# --------------------------------------------------------------------------- helpers


def _frame(X: Any) -> pd.DataFrame:
    """View ``X`` as a DataFrame without copying or coercing a DataFrame's column dtypes."""
    if isinstance(X, pd.DataFrame):
        frame = X
    else:
        if sparse.issparse(X):
            raise TypeError("sparse input is not supported; pass a DataFrame or a dense array")
        arr = np.asarray(X) if hasattr(X, "dtype") else np.asarray(X, dtype=object)
        if arr.ndim != 2:
            raise ValueError(
                f"expected a 2-D table (DataFrame or array), got {arr.ndim} dimension(s). "
                "Reshape your data with array.reshape(-1, 1) for a single column."
            )
        if np.iscomplexobj(arr):
            raise ValueError("Complex data not supported")
        frame = pd.DataFrame(arr)
    if frame.shape[1] == 0:
        raise ValueError(
            f"0 feature(s) (shape={frame.shape}) while a minimum of 1 is required; "
            "expected at least one column"
        )
    return frame


def _to_datetime(col: pd.Series, name: str) -> pd.Series:
    """Parse a column to timezone-naive datetime64; raise DataError for unparseable values.

    Timezone-aware values are converted to UTC first so that differences to a naive reference
    date are well defined; calendar parts then refer to UTC.
    """
    if isinstance(col.dtype, pd.DatetimeTZDtype):
        return col.dt.tz_convert("UTC").dt.tz_localize(None)
    if pd.api.types.is_datetime64_dtype(col.dtype):
        return col
    if pd.api.types.is_numeric_dtype(col.dtype) or pd.api.types.is_bool_dtype(col.dtype):
        # to_datetime would read integers as nanoseconds since 1970: silently wrong dates.
        raise DataError(
            f"date column '{name}' has dtype {col.dtype}; expected datetime64 or ISO-8601 strings"
        )
    parsed = pd.to_datetime(col, errors="coerce", format="ISO8601", utc=True)
    suspect = col[parsed.isna() & col.notna()].astype(str)
    bad = suspect[suspect.str.strip() != ""]  # blank strings are missing, not malformed
    if len(bad):
        examples = bad.unique()[:3].tolist()
        raise DataError(
            f"date column '{name}' has {len(bad)} value(s) that are not ISO-8601 dates, "
            f"e.g. {examples}"
        )
    return parsed.dt.tz_localize(None)


def _parse_reference(value: Any, where: str) -> pd.Timestamp:
    try:
        ts = pd.Timestamp(value)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{where}: expected an ISO-8601 date, got {value!r}") from exc
    if ts is pd.NaT or pd.isna(ts):
        raise ValueError(f"{where}: expected an ISO-8601 date, got {value!r}")
    if ts.tzinfo is not None:
        ts = ts.tz_convert("UTC").tz_localize(None)
    return ts


# --------------------------------------------------------------------------- transformers


class FrequencyEncoder(OneToOneFeatureMixin, TransformerMixin, BaseEstimator):
    """Replace each category by its share of the training rows.

    For high-cardinality columns (a city with hundreds of values) where one-hot encoding would
    explode the width. Shares are taken over all training rows, missing ones included, so the
    shares of a column sum to 1 minus its missing rate. Unseen categories and missing values
    encode to 0.0: the share of a category that never occurred. Categories compare by value,
    so an integer category 3 also matches 3.0 at transform time.
    """

    def fit(self, X: Any, y: Any = None) -> FrequencyEncoder:
        frame = _frame(X)
        validate_data(self, X, skip_check_array=True, reset=True)
        n = len(frame)
        if n == 0:
            raise ValueError("FrequencyEncoder needs at least one training row, got 0")
        self.categories_: list[np.ndarray] = []
        self.frequencies_: list[np.ndarray] = []
        for i in range(frame.shape[1]):
            # factorize keeps first-appearance order: the learned state, and hence the pickled
            # model's bytes, depend only on the data, never on hash ordering.
            codes, uniques = pd.factorize(frame.iloc[:, i], use_na_sentinel=True)
            counts = np.bincount(codes[codes >= 0], minlength=len(uniques))
            self.categories_.append(np.asarray(uniques, dtype=object))
            self.frequencies_.append(counts.astype(np.float64) / n)
        return self

    def transform(self, X: Any) -> np.ndarray:
        check_is_fitted(self, "frequencies_")
        frame = _frame(X)
        validate_data(self, X, skip_check_array=True, reset=False)
        return self.encode(frame)

    def encode(self, frame: pd.DataFrame) -> np.ndarray:
        """``transform`` without its checks, for a frame whose columns are the fitted ones."""
        out = np.zeros((len(frame), len(self.frequencies_)), dtype=np.float64)
        for i, (cats, freqs) in enumerate(zip(self.categories_, self.frequencies_, strict=True)):
            col = frame.iloc[:, i]
            if isinstance(col.dtype, pd.CategoricalDtype):
                col = col.astype(object)
            pos = pd.Index(cats, dtype=object).get_indexer(col)
            known = pos >= 0
            out[known, i] = freqs[pos[known]]
        return out

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.categorical = True
        tags.input_tags.string = True
        tags.input_tags.allow_nan = True
        return tags


class CyclicalDateEncoder(TransformerMixin, BaseEstimator):
    """Encode periodic parts of dates as points on a circle: (sin, cos) of the phase.

    December and January are neighbours on the circle but 11 apart as numbers; the encoding
    lets a linear model see that. ``parts`` is a sequence of names from
    :data:`CYCLICAL_PARTS`. Missing dates give (0, 0). Output names: ``<column>_<part>_sin``
    and ``<column>_<part>_cos``, per column in input order, parts in the given order.
    """

    def __init__(self, parts: Sequence[str] = ("month", "dayofweek")) -> None:
        self.parts = parts

    def _check_parts(self) -> tuple[str, ...]:
        parts = (self.parts,) if isinstance(self.parts, str) else tuple(self.parts)
        unknown = [p for p in parts if p not in _PHASES]
        if unknown or not parts:
            raise ValueError(
                f"parts: expected a non-empty list from {list(CYCLICAL_PARTS)}, got {parts!r}"
            )
        if len(set(parts)) != len(parts):
            raise ValueError(f"parts: each part may appear once, got {parts!r}")
        return parts

    def fit(self, X: Any, y: Any = None) -> CyclicalDateEncoder:
        self._check_parts()
        frame = _frame(X)
        validate_data(self, X, skip_check_array=True, reset=True)
        # Parse once in fit so a wrongly typed column fails at training, not first at scoring.
        for i, name in enumerate(_names_in(self, None)):
            _to_datetime(frame.iloc[:, i], name)
        self.parts_ = self._check_parts()
        return self

    def transform(self, X: Any) -> np.ndarray:
        check_is_fitted(self, "parts_")
        frame = _frame(X)
        validate_data(self, X, skip_check_array=True, reset=False)
        return self.encode(frame)

    def encode(self, frame: pd.DataFrame) -> np.ndarray:
        """``transform`` without its checks, for a frame whose columns are the fitted ones."""
        names = _names_in(self, None)
        out = np.zeros((len(frame), 2 * len(self.parts_) * frame.shape[1]), dtype=np.float64)
        k = 0
        for i, name in enumerate(names):
            dates = _to_datetime(frame.iloc[:, i], name)
            present = dates.notna().to_numpy()
            for part in self.parts_:
                angle = 2.0 * np.pi * np.asarray(_PHASES[part](dates), dtype=np.float64)
                out[present, k] = np.sin(angle[present])
                out[present, k + 1] = np.cos(angle[present])
                k += 2
        return out

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        check_is_fitted(self, "parts_")
        names = _names_in(self, input_features)
        return np.asarray(
            [f"{c}_{p}_{f}" for c in names for p in self.parts_ for f in ("sin", "cos")],
            dtype=object,
        )

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.string = True
        tags.input_tags.allow_nan = True
        return tags


class DaysSince(OneToOneFeatureMixin, TransformerMixin, BaseEstimator):
    """Days from each date to a fixed ``reference_date`` (positive for dates before it).

    The reference is a parameter, never "today", so the same data gives the same features on
    any day and training stays reproducible. Fractional days are kept for timestamps. Missing
    dates give NaN, for an imputer downstream (:func:`build_preprocessor` adds one).
    """

    def __init__(self, reference_date: str | None = None) -> None:
        self.reference_date = reference_date

    def fit(self, X: Any, y: Any = None) -> DaysSince:
        if self.reference_date is None:
            raise ValueError("reference_date: expected an ISO-8601 date, got None")
        reference = _parse_reference(self.reference_date, "reference_date")
        frame = _frame(X)
        validate_data(self, X, skip_check_array=True, reset=True)
        for i, name in enumerate(_names_in(self, None)):
            _to_datetime(frame.iloc[:, i], name)
        self.reference_ = reference
        return self

    def transform(self, X: Any) -> np.ndarray:
        check_is_fitted(self, "reference_")
        frame = _frame(X)
        validate_data(self, X, skip_check_array=True, reset=False)
        return self.encode(frame)

    def encode(self, frame: pd.DataFrame) -> np.ndarray:
        """``transform`` without its checks, for a frame whose columns are the fitted ones."""
        out = np.empty((len(frame), frame.shape[1]), dtype=np.float64)
        for i, name in enumerate(_names_in(self, None)):
            dates = _to_datetime(frame.iloc[:, i], name).to_numpy(dtype="datetime64[s]")
            # Whole seconds in numpy: nanosecond arithmetic overflows ~292 years from the
            # reference, and the contract may accept such dates.
            reference = np.datetime64(self.reference_.to_pydatetime(), "s")
            out[:, i] = (reference - dates) / np.timedelta64(86_400, "s")
        return out

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.string = True
        tags.input_tags.allow_nan = True
        return tags


def _names_in(est: BaseEstimator, input_features: Any) -> list[str]:
    fitted = getattr(est, "feature_names_in_", None)
    if input_features is None:
        if fitted is not None:
            return [str(n) for n in fitted]
        return [f"x{i}" for i in range(est.n_features_in_)]
    names = [str(n) for n in input_features]
    if fitted is not None and names != [str(n) for n in fitted]:
        raise ValueError(f"input_features {names} do not match the fitted names {list(fitted)}")
    if len(names) != est.n_features_in_:
        raise ValueError(f"expected {est.n_features_in_} input_features, got {len(names)}")
    return names


def categories_as_strings(X: Any) -> Any:
    """Turn every categorical value into a string, and missing values into MISSING_CATEGORY.

    OneHotEncoder needs each column uniformly strings or numbers; booleans with a missing value,
    or integer codes that become floats once a NaN appears (3 vs 3.0), would otherwise break it
    or turn known categories into unknown ones. Module-level so pipelines stay picklable; saved
    models refer to it by name, so renaming it breaks loading them.
    """
    frame = _frame(X)
    out = {name: category_strings(frame[name]) for name in frame.columns}
    return pd.DataFrame(out, index=frame.index, columns=frame.columns)


def category_strings(col: pd.Series) -> np.ndarray:
    """One column of :func:`categories_as_strings`, as an object array of str."""
    if pd.api.types.is_float_dtype(col.dtype):
        values = col.to_numpy(dtype=np.float64, na_value=np.nan)
        present = values[~np.isnan(values)]
        if np.all(np.isfinite(present)) and np.all(present == np.round(present)):
            col = col.astype("Int64")
    missing = col.isna().to_numpy()
    text = col.astype(object).astype(str).to_numpy(dtype=object)
    text[missing] = MISSING_CATEGORY
    return text


# --------------------------------------------------------------------------- spec


@dataclass(frozen=True)
class FeatureSpec:
    """Which input column gets which treatment. Any group may be empty.

    A date column may appear in both ``cyclical_dates`` and ``days_since_dates`` (season and
    age are different signals); any other column belongs to exactly one group.
    ``date_reference`` (ISO-8601) is required when ``days_since_dates`` is not empty.
    """

    numeric: tuple[str, ...] = ()
    categorical: tuple[str, ...] = ()
    frequency: tuple[str, ...] = ()
    cyclical_dates: tuple[str, ...] = ()
    days_since_dates: tuple[str, ...] = ()
    date_reference: str | None = None
    cyclical_parts: tuple[str, ...] = ("month", "dayofweek")

    def __post_init__(self) -> None:
        groups = ("numeric", "categorical", "frequency", "cyclical_dates", "days_since_dates")
        for group in (*groups, "cyclical_parts"):
            value = getattr(self, group)
            if isinstance(value, str) or not isinstance(value, Sequence):
                raise ParamsError(
                    f"{_SECTION}.{group}: expected a list of names, got {type(value).__name__} "
                    f"{value!r}"
                )
            if not all(isinstance(v, str) and v for v in value):
                raise ParamsError(
                    f"{_SECTION}.{group}: expected non-empty strings, got {list(value)!r}"
                )
            if len(set(value)) != len(value):
                dup = sorted({v for v in value if list(value).count(v) > 1})
                raise ParamsError(f"{_SECTION}.{group}: {dup} listed more than once")
            # Lists from YAML become tuples: the spec stays hashable and truly frozen.
            object.__setattr__(self, group, tuple(value))
        owner: dict[str, str] = {}
        for group in groups:
            for col in getattr(self, group):
                other = owner.get(col)
                both_dates = {other, group} == {"cyclical_dates", "days_since_dates"}
                if other is not None and not both_dates:
                    raise ParamsError(
                        f"{_SECTION}.{group}: column '{col}' is already listed in "
                        f"{_SECTION}.{other}; a column gets one treatment"
                    )
                owner.setdefault(col, group)
        if not owner:
            raise ParamsError(f"{_SECTION}: no feature columns listed; expected at least one")
        bad_parts = [p for p in self.cyclical_parts if p not in _PHASES]
        if bad_parts or (self.cyclical_dates and not self.cyclical_parts):
            raise ParamsError(
                f"{_SECTION}.cyclical_parts: expected a non-empty list from "
                f"{list(CYCLICAL_PARTS)}, got {list(self.cyclical_parts)!r}"
            )
        if self.days_since_dates or self.date_reference is not None:
            try:
                _parse_reference(self.date_reference, f"{_SECTION}.date_reference")
            except ValueError as exc:
                raise ParamsError(str(exc)) from None

    @property
    def columns(self) -> tuple[str, ...]:
        """Every input column the features read, each once, in group order."""
        seen: dict[str, None] = {}
        for field in dataclasses.fields(self):
            if field.name in ("date_reference", "cyclical_parts"):
                continue
            seen.update(dict.fromkeys(getattr(self, field.name)))
        return tuple(seen)


# --------------------------------------------------------------------------- preprocessor


def build_preprocessor(spec: FeatureSpec, *, scale_numeric: bool) -> ColumnTransformer:
    """One ColumnTransformer applying the spec's treatments; unlisted columns are dropped.

    * numeric: median impute (+ StandardScaler if ``scale_numeric``). Booleans may be listed
      here; they become 0/1 floats. Empty training columns are kept (imputed 0) so the output
      width never depends on the data.
    * categorical: values as strings, missing as its own category, OneHotEncoder with
      ``handle_unknown="ignore"`` (an unseen category is all zeros). Dense output, because
      HistGradientBoosting and ``set_output(transform="pandas")`` need it; high-cardinality
      columns belong in ``frequency``.
    * frequency: :class:`FrequencyEncoder` (+ scaling).
    * cyclical_dates: :class:`CyclicalDateEncoder` (already in [-1, 1], never scaled).
    * days_since_dates: :class:`DaysSince`, median impute (+ scaling).

    Output names are ``<group>__<feature>``, e.g. ``numeric__tenure_months``.
    """

    def scaled(*steps: tuple[str, Any]) -> Pipeline:
        tail = [("scale", StandardScaler())] if scale_numeric else []
        return Pipeline([*steps, *tail])

    def median() -> SimpleImputer:
        return SimpleImputer(strategy="median", keep_empty_features=True)

    transformers: list[tuple[str, Any, list[str]]] = []
    if spec.numeric:
        transformers.append(("numeric", scaled(("impute", median())), list(spec.numeric)))
    if spec.categorical:
        onehot = Pipeline(
            [
                (
                    "as_str",
                    FunctionTransformer(
                        categories_as_strings, feature_names_out="one-to-one", validate=False
                    ),
                ),
                (
                    "onehot",
                    OneHotEncoder(handle_unknown="ignore", sparse_output=False, dtype=np.float64),
                ),
            ]
        )
        transformers.append(("categorical", onehot, list(spec.categorical)))
    if spec.frequency:
        transformers.append(
            ("frequency", scaled(("encode", FrequencyEncoder())), list(spec.frequency))
        )
    if spec.cyclical_dates:
        encoder = CyclicalDateEncoder(parts=tuple(spec.cyclical_parts))
        transformers.append(("cyclical", encoder, list(spec.cyclical_dates)))
    if spec.days_since_dates:
        days = scaled(
            ("days", DaysSince(reference_date=spec.date_reference)), ("impute", median())
        )
        transformers.append(("days_since", days, list(spec.days_since_dates)))
    return ColumnTransformer(transformers, remainder="drop", sparse_threshold=0.0)
