"""A customer table mlgate has never seen, generated for the `mlgate init` tests.

Shaped like public churn exports: a text id, Yes/No flags, a 0/1 flag, three categoricals, a
Yes/No target, and a numeric column with blank (" ") cells where tenure is 0.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

CONTRACTS = ("Month-to-month", "One year", "Two year")
PAYMENTS = ("Electronic check", "Mailed check", "Bank transfer", "Credit card")


def make_table(n: int = 2_000, seed: int = 7) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    tenure = rng.integers(0, 72, size=n)
    tenure[rng.random(n) < 0.01] = 0
    contract = rng.choice(CONTRACTS, size=n, p=[0.55, 0.25, 0.20])
    monthly = np.round(rng.uniform(18, 118, size=n), 2)
    senior = (rng.random(n) < 0.16).astype(int)
    paperless = rng.choice(["Yes", "No"], size=n, p=[0.6, 0.4])
    logit = (
        0.6
        - 0.045 * tenure
        + 0.012 * (monthly - 65)
        - 1.3 * (contract == "One year")
        - 2.4 * (contract == "Two year")
        + 0.4 * senior
        + 0.3 * (paperless == "Yes")
    )
    churn = np.where(rng.random(n) < 1 / (1 + np.exp(-logit)), "Yes", "No")
    total = np.round(monthly * tenure, 2).astype(object)
    total[tenure == 0] = " "  # the export writes a space where there is no total yet
    return pd.DataFrame(
        {
            "customerID": [
                f"{i:04d}-{chr(65 + i % 26)}{chr(65 + (i // 26) % 26)}" for i in range(n)
            ],
            "gender": rng.choice(["Female", "Male"], size=n),
            "SeniorCitizen": senior,
            "Partner": rng.choice(["Yes", "No"], size=n),
            "tenure": tenure,
            "Contract": contract,
            "PaperlessBilling": paperless,
            "PaymentMethod": rng.choice(PAYMENTS, size=n),
            "MonthlyCharges": monthly,
            "TotalCharges": total,
            "Churn": churn,
        }
    )
