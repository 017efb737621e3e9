"""`mlgate init` on a table it has never seen: features, slices, label, floors, spec."""

from __future__ import annotations

import io
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pandera.pandas as pa
import pytest
import yaml

from mlgate.behavioral import load_spec
from mlgate.behavioral.contract import check_spec
from mlgate.cli import main
from mlgate.data.contract_draft import draft_contract
from mlgate.data.ingest import read_table
from mlgate.errors import DataError, ParamsError
from mlgate.init_baseline import MARGIN, Z, _floor
from mlgate.init_plan import (
    behavioral_spec,
    choose_positive_label,
    plan_features,
    plan_slices,
)
from tests.e2e.byo_table import make_table


@pytest.fixture(scope="module")
def table(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, pd.DataFrame]:
    path = tmp_path_factory.mktemp("byo") / "telco.csv"
    make_table(n=600).to_csv(path, index=False)
    return path, read_table(path, na_values=[" "])


def test_features_follow_the_dtypes(table: tuple[Path, pd.DataFrame]) -> None:
    _, frame = table
    frame = frame.assign(
        note=[f"free text {i}" for i in range(len(frame))],
        constant=1,
        city=[f"city_{i % 40}" for i in range(len(frame))],
        joined=pd.date_range("2020-01-01", periods=len(frame)).strftime("%Y-%m-%d"),
    )
    plan = plan_features(frame, id_column="customerID", target="Churn")
    assert plan.numeric == ["SeniorCitizen", "tenure", "MonthlyCharges", "TotalCharges"]
    assert plan.flags == ["SeniorCitizen"]
    assert plan.categorical == [
        "gender",
        "Partner",
        "Contract",
        "PaperlessBilling",
        "PaymentMethod",
    ]
    assert plan.frequency == ["city"]
    assert set(plan.left_out) == {"note", "constant", "joined"}
    assert "identifier or free text" in plan.left_out["note"]
    assert "datetime64" in plan.left_out["joined"]


def test_slices_cover_each_value_of_flags_and_small_categoricals(
    table: tuple[Path, pd.DataFrame],
) -> None:
    _, frame = table
    plan = plan_features(frame, id_column="customerID", target="Churn")
    slices = plan_slices(frame, plan)
    assert slices["seniorcitizen_1"] == {"column": "SeniorCitizen", "op": "==", "value": 1}
    assert slices["contract_two_year"] == {"column": "Contract", "op": "==", "value": "Two year"}
    assert "contract_month-to-month" in slices
    assert len(slices) == 2 + 2 + 2 + 3 + 2 + 4


@pytest.mark.parametrize(
    ("values", "given", "expected"),
    [
        (["Yes", "No", "No"], None, "Yes"),
        ([0, 1, 1], None, 1),
        ([True, False], None, True),
        (["churn", "stay"], "stay", "stay"),
    ],
)
def test_positive_label(values: list, given: str | None, expected: object) -> None:
    assert choose_positive_label(pd.Series(values), given) == expected


@pytest.mark.parametrize(
    ("values", "given", "match"),
    [
        (["a", "b"], None, "--positive-label"),
        (["a", "b", "c"], None, "3 distinct values"),
        (["Yes", "No"], "yes", "not a value of the target"),
    ],
)
def test_positive_label_refusals(values: list, given: str | None, match: str) -> None:
    with pytest.raises(DataError, match=match):
        choose_positive_label(pd.Series(values), given)


def test_floor_formula_rounds_down_and_never_goes_below_chance() -> None:
    # 0.80 - 1.96 * 0.01 * 2 - 0.02 = 0.74080 -> 0.740
    assert _floor(0.80, 0.01, 2.0) == 0.740
    assert _floor(0.80, 0.01, 2.0) <= 0.80 - Z * 0.01 * 2.0 - MARGIN
    assert _floor(0.80, 0.0, 1.0) == 0.78  # a wider SE or smaller holdout lowers it
    assert _floor(0.80, 0.02, 1.0) < _floor(0.80, 0.01, 1.0)
    assert _floor(0.55, 0.05, 1.5) == 0.5


def test_spec_and_its_templates_agree_with_the_contract(
    table: tuple[Path, pd.DataFrame],
) -> None:
    path, frame = table
    plan = plan_features(frame, id_column="customerID", target="Churn")
    text = behavioral_spec(frame, plan, id_column="customerID", source="sources/telco.csv")
    schema = pa.DataFrameSchema.from_yaml(
        draft_contract(read_table(path), id_column="customerID").text
    )
    spec = load_spec(yaml.safe_load(text), source="spec")
    assert [t.name for t in spec.tests] == [
        "id_does_not_matter",
        "scores_cover_unseen_and_missing",
    ]
    check_spec(spec, schema, contract="draft")
    # Uncommenting the templates as the file says gives two more valid tests.
    uncommented = text.replace("\n# - ", "\n- ").replace("\n#   ", "\n  ")
    confirmed = load_spec(yaml.safe_load(uncommented), source="spec")
    assert [t.type for t in confirmed.tests] == ["inv", "coverage", "inv", "dir"]
    check_spec(confirmed, schema, contract="draft")


def test_init_outside_a_pipeline_repository_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    csv = tmp_path / "t.csv"
    make_table(n=50).to_csv(csv, index=False)
    monkeypatch.chdir(tmp_path)
    code = main(["init", "--data", str(csv), "--target", "Churn", "--id-column", "customerID"])
    assert code == 2
    assert "run mlgate init at the root" in capsys.readouterr().err


def test_make_table_has_blanks_only_where_tenure_is_zero() -> None:
    frame = pd.read_csv(io.StringIO(make_table(n=800).to_csv(index=False)))
    blank = frame["TotalCharges"] == " "
    assert blank.any() and (frame.loc[blank, "tenure"] == 0).all()
    assert np.isin(frame["Churn"].unique(), ["Yes", "No"]).all()


@pytest.fixture
def bare_repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, repo_root: Path) -> Path:
    """A directory that looks like a pipeline repository (git, .dvc/, dvc.yaml, params)."""
    import shutil
    import subprocess

    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    (tmp_path / ".dvc").mkdir()
    (tmp_path / "dvc.yaml").write_text("stages: {}\n", encoding="utf-8")
    (tmp_path / ".gitignore").write_text("/data/\n", encoding="utf-8")
    shutil.copy(repo_root / "params.yaml", tmp_path / "params.yaml")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _pipeline_repo(root: Path, repo_root: Path) -> Path:
    """A git + DVC repository holding this checkout's params.yaml and dvc.yaml."""
    import shutil
    import subprocess

    root.mkdir()
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    dvc = Path(sys.executable).parent / "dvc"
    subprocess.run([str(dvc), "init", "-q"], cwd=root, check=True)
    for name in ("params.yaml", "dvc.yaml"):
        shutil.copy(repo_root / name, root / name)
    return root


def _init(path: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(["init", "--data", path, "--target", "Churn", "--id-column", "customerID"])
    return code, capsys.readouterr().err


def test_init_refuses_a_file_git_ignores(
    bare_repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (bare_repo / "data").mkdir()
    make_table(n=50).to_csv(bare_repo / "data/t.csv", index=False)
    code, err = _init("data/t.csv", capsys)
    assert code == 2 and "git ignores this path" in err and "sources/" in err


def test_init_refuses_a_file_git_tracks(
    bare_repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import subprocess

    make_table(n=50).to_csv(bare_repo / "t.csv", index=False)
    subprocess.run(["git", "add", "t.csv"], cwd=bare_repo, check=True)
    code, err = _init("t.csv", capsys)
    assert code == 2 and "git rm --cached t.csv" in err


def test_init_refuses_unlabelled_rows(bare_repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    frame = make_table(n=50)
    frame.loc[3, "Churn"] = None
    frame.to_csv(bare_repo.parent / "t.csv", index=False)
    code, err = _init(str(bare_repo.parent / "t.csv"), capsys)
    assert code == 2 and "1 row(s) have no value in --target 'Churn'" in err
    assert not (bare_repo / "sources").exists()  # refused before anything was written


def test_init_a_parquet_table_with_text_numbers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, repo_root: Path
) -> None:
    """Parquet keeps a blank-holding number column as text: init plans it as the contract will
    coerce it (numeric), and writes the files a pipeline needs."""
    root = _pipeline_repo(tmp_path / "repo", repo_root)
    table = make_table(n=400).astype({"TotalCharges": str})
    table.to_parquet(tmp_path / "export.parquet")
    monkeypatch.chdir(root)
    code = main(["init", "--data", str(tmp_path / "export.parquet"), "--target", "Churn",
                 "--id-column", "customerID"])  # fmt: skip
    assert code == 0
    params = yaml.safe_load((root / "params.yaml").read_text(encoding="utf-8"))
    assert params["data"]["source"] == "sources/export.parquet"
    assert params["data"]["na_values"] == [" "]
    assert "TotalCharges" in params["features"]["numeric"]
    assert (root / "sources/export.parquet.dvc").is_file()
    assert (root / "contracts/export.yaml").is_file()
    assert (root / "contracts/export_behavioral.yaml").is_file()
    # The comments of params.yaml survive the update.
    assert "# mlgate pipeline parameters" in (root / "params.yaml").read_text(encoding="utf-8")
    # Again: the copy and the drafts exist, refused; with --force a changed export is
    # copied and versioned anew.
    again = ["init", "--data", str(tmp_path / "export.parquet"), "--target", "Churn",
             "--id-column", "customerID"]  # fmt: skip
    assert main(again) == 2
    before = (root / "sources/export.parquet.dvc").read_text(encoding="utf-8")
    make_table(n=300).astype({"TotalCharges": str}).to_parquet(tmp_path / "export.parquet")
    assert main([*again, "--force"]) == 0
    assert (root / "sources/export.parquet.dvc").read_text(encoding="utf-8") != before


def test_cross_validated_floors_on_the_training_side(table: tuple[Path, pd.DataFrame]) -> None:
    import math

    from mlgate.features import FeatureSpec
    from mlgate.init_baseline import cross_validated_floors
    from mlgate.slices import parse_slices

    _, frame = table
    y = (frame["Churn"] == "Yes").to_numpy().astype(int)
    slices = parse_slices(
        {
            "month_to_month": {"column": "Contract", "op": "==", "value": "Month-to-month"},
            "brand_new": {"column": "tenure", "op": "==", "value": 0},  # a handful of rows
        },
        where="evaluate.slices",
    )
    base = cross_validated_floors(
        frame,
        spec=FeatureSpec(numeric=("tenure", "MonthlyCharges"), categorical=("Contract",)),
        target=y,
        id_column="customerID",
        slices=slices,
        holdout_fraction=0.3,
        salt="mlgate-v1",
        estimator="logistic_regression",
        hyperparams={},
        seed=0,
        min_samples=30,
    )
    assert base.n_train + base.n_holdout == len(frame) and base.n_holdout < base.n_train
    assert base.min_auc == _floor(
        base.auc, base.std_error, math.sqrt(base.n_train / base.n_holdout)
    )
    assert 0.5 <= base.min_auc < base.auc
    assert set(base.slice_floors) == {"month_to_month"}  # too few rows to evaluate: left out
    assert base.min_slice_auc == min(base.min_auc, base.slice_floors["month_to_month"])


def test_drafted_slices_pass_the_drafted_contract(
    table: tuple[Path, pd.DataFrame], tmp_path: Path
) -> None:
    """What `mlgate init` writes must pass the evaluate stage's check of slices (and does
    not only on the telco columns: a boolean flag and a category with spaces too)."""
    from mlgate.init_plan import self_check
    from mlgate.slice_contract import slice_problems
    from mlgate.slices import parse_slices

    path, frame = table
    extended = tmp_path / "extended.csv"
    read_table(path).assign(
        phone=[i % 3 == 0 for i in range(len(frame))],
        plan=[("Fiber optic", "DSL", "No internet service")[i % 3] for i in range(len(frame))],
    ).to_csv(extended, index=False)
    draft = draft_contract(read_table(extended), id_column="customerID")
    data = read_table(extended, na_values=draft.na_values)
    plan = plan_features(data, id_column="customerID", target="Churn")
    slices = plan_slices(data, plan)
    assert {"phone_true", "plan_fiber_optic", "seniorcitizen_1"} <= set(slices), slices
    schema = pa.DataFrameSchema.from_yaml(draft.text)
    assert slice_problems(parse_slices(slices, where="evaluate.slices"), schema) == []
    spec_text = behavioral_spec(data, plan, id_column="customerID", source="telco.csv")
    self_check(draft.text, spec_text, "spec.yaml", slices)
    # The same check refuses a drafted slice the contract does not allow (a bug guard).
    slices["plan_fiber_optic"]["value"] = "Fibre optic"
    with pytest.raises(ParamsError, match=r"drafted evaluate.slices.plan_fiber_optic.value"):
        self_check(draft.text, spec_text, "spec.yaml", slices)


def _block_style(path: Path) -> None:
    """Rewrite params.yaml with every list in block style, as `dvc exp run -S` leaves it."""
    from ruamel.yaml import YAML
    from ruamel.yaml.comments import CommentedMap, CommentedSeq

    ruamel = YAML()
    doc = ruamel.load(path.read_text(encoding="utf-8"))

    def walk(node: object) -> None:
        if isinstance(node, CommentedSeq):
            node.fa.set_block_style()
        if isinstance(node, CommentedMap | CommentedSeq):
            for child in node.values() if isinstance(node, CommentedMap) else node:
                walk(child)

    walk(doc["features"])
    with path.open("w", encoding="utf-8") as handle:
        ruamel.dump(doc, handle)


def test_init_after_dvc_exp_rewrote_params_in_block_style(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, repo_root: Path
) -> None:
    """ruamel 0.19 wrote ``date_reference: cyclical_parts:`` (corrupt YAML) when a ``[]``
    replaced a block list before a null value: README section 8 run after sections 3-4."""
    root = _pipeline_repo(tmp_path / "repo", repo_root)
    _block_style(root / "params.yaml")
    assert "  cyclical_dates:\n  - signup_date\n" in (root / "params.yaml").read_text("utf-8")
    make_table(n=400).to_csv(tmp_path / "export.csv", index=False)
    monkeypatch.chdir(root)
    code = main(["init", "--data", str(tmp_path / "export.csv"), "--target", "Churn",
                 "--id-column", "customerID"])  # fmt: skip
    assert code == 0
    features = yaml.safe_load((root / "params.yaml").read_text(encoding="utf-8"))["features"]
    assert features["cyclical_dates"] == [] and features["days_since_dates"] == []
    assert features["date_reference"] is None  # no date features: no reference date
    assert features["cyclical_parts"] == ["month", "dayofweek"]


def test_init_never_writes_params_that_do_not_read_back(tmp_path: Path) -> None:
    from mlgate.errors import ParamsError
    from mlgate.init_project import _check_reads_back

    _check_reads_back(tmp_path / "params.yaml", "a:\n  b: []\n  c:\n", {"a": {"b": [], "c": None}})
    with pytest.raises(ParamsError, match=r"params\.yaml: .*would not read back.*nothing was"):
        _check_reads_back(tmp_path / "params.yaml", "a:\n  b: []\n  c: d:\n", {"a": {}})
    with pytest.raises(ParamsError, match="would not read back"):
        _check_reads_back(tmp_path / "params.yaml", "a: 1\n", {"a": 2})
