"""The Portuguese bank-marketing data set (UCI id 222, Moro et al. 2014).

`load_bank_marketing(source="uci")` downloads the real data (bank-additional-full.csv, 41,188 rows, ';'-separated,
inside bank-additional.zip inside the UCI archive). `source="synthetic"` builds a frame with the same columns and
dtypes and a learnable target, for tests and offline machines. `source="auto"` tries UCI and falls back.
"""

from __future__ import annotations

import io
import logging
import urllib.request
import zipfile

import numpy as np
import pandas as pd

log = logging.getLogger(__name__)

UCI_URL = "https://archive.ics.uci.edu/static/public/222/bank+marketing.zip"
UCI_MEMBER = "bank-additional/bank-additional-full.csv"

CATEGORIES: dict[str, list[str]] = {
    "job": ["admin.", "blue-collar", "entrepreneur", "housemaid", "management", "retired", "self-employed",
            "services", "student", "technician", "unemployed", "unknown"],
    "marital": ["divorced", "married", "single", "unknown"],
    "education": ["basic.4y", "basic.6y", "basic.9y", "high.school", "illiterate", "professional.course",
                  "university.degree", "unknown"],
    "default": ["no", "yes", "unknown"],
    "housing": ["no", "yes", "unknown"],
    "loan": ["no", "yes", "unknown"],
    "contact": ["cellular", "telephone"],
    "month": ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"],
    "day_of_week": ["mon", "tue", "wed", "thu", "fri"],
    "poutcome": ["failure", "nonexistent", "success"],
}
NUMERIC = ["age", "duration", "campaign", "pdays", "previous", "emp.var.rate", "cons.price.idx",
           "cons.conf.idx", "euribor3m", "nr.employed"]
BANK_COLUMNS = ["age", "job", "marital", "education", "default", "housing", "loan", "contact", "month",
                "day_of_week", "duration", "campaign", "pdays", "previous", "poutcome", "emp.var.rate",
                "cons.price.idx", "cons.conf.idx", "euribor3m", "nr.employed", "y"]


def _read_uci(url: str | None = None, timeout: float = 30.0) -> pd.DataFrame:
    with urllib.request.urlopen(url or UCI_URL, timeout=timeout) as resp:  # noqa: S310 (fixed https URL)
        outer = zipfile.ZipFile(io.BytesIO(resp.read()))
    inner_name = next(n for n in outer.namelist() if n.endswith("bank-additional.zip"))
    inner = zipfile.ZipFile(io.BytesIO(outer.read(inner_name)))
    with inner.open(UCI_MEMBER) as fh:
        return pd.read_csv(fh, sep=";")


def synthetic_bank_marketing(n_rows: int = 2000, seed: int = 0) -> pd.DataFrame:
    """A frame with the UCI columns and dtypes; `y` depends on poutcome, contact, euribor3m and pdays."""
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({c: rng.choice(v, size=n_rows) for c, v in CATEGORIES.items()})
    df["age"] = rng.integers(18, 90, n_rows)
    df["duration"] = rng.gamma(2.0, 130.0, n_rows).astype(int)
    df["campaign"] = rng.integers(1, 10, n_rows)
    contacted = df["poutcome"] != "nonexistent"
    df["pdays"] = np.where(contacted, rng.integers(0, 27, n_rows), 999)
    df["previous"] = np.where(contacted, rng.integers(1, 6, n_rows), 0)
    df["emp.var.rate"] = rng.choice([-3.4, -1.8, -0.1, 1.1, 1.4], n_rows)
    df["cons.price.idx"] = rng.uniform(92.2, 94.8, n_rows).round(3)
    df["cons.conf.idx"] = rng.uniform(-50.8, -26.9, n_rows).round(1)
    df["euribor3m"] = rng.uniform(0.63, 5.05, n_rows).round(3)
    df["nr.employed"] = rng.choice([4963.6, 5017.5, 5099.1, 5191.0, 5228.1], n_rows)
    logit = (1.0 + 3.0 * (df["poutcome"] == "success") + 1.5 * (df["contact"] == "cellular")
             - 1.0 * df["euribor3m"] + 1.0 * (df["pdays"] < 999))
    p = 1.0 / (1.0 + np.exp(-logit))
    df["y"] = np.where(rng.uniform(size=n_rows) < p, "yes", "no")
    return df[BANK_COLUMNS]


def load_bank_marketing(source: str = "auto", n_rows: int | None = None, seed: int = 0) -> pd.DataFrame:
    """Load the data set. source: "uci" (download), "synthetic", or "auto" (UCI, else synthetic)."""
    if source not in ("auto", "uci", "synthetic"):
        raise ValueError(f"source must be auto, uci or synthetic, not {source!r}")
    if source in ("auto", "uci"):
        try:
            df = _read_uci()
            if n_rows is not None and n_rows < len(df):
                df = df.sample(n=n_rows, random_state=seed).reset_index(drop=True)
            return df
        except Exception as exc:  # noqa: BLE001 - any network/format error falls back in auto mode
            if source == "uci":
                raise
            log.warning("UCI bank-marketing download failed (%s); using the synthetic frame", exc)
    return synthetic_bank_marketing(n_rows or 2000, seed)


def prepare_features(df: pd.DataFrame, drop_duration: bool = True) -> tuple[pd.DataFrame, pd.Series]:
    """One-hot encode categoricals; return (X float frame, y 0/1). `duration` is dropped by default because
    UCI notes it is only known after the call (it leaks the target)."""
    missing = set(BANK_COLUMNS) - set(df.columns)
    if missing:
        raise ValueError(f"not a bank-marketing frame, missing columns: {sorted(missing)}")
    y = (df["y"] == "yes").astype(int)
    X = df.drop(columns=["y"] + (["duration"] if drop_duration else []))
    cats = [c for c in CATEGORIES if c in X.columns]
    X = pd.get_dummies(X, columns=cats, dtype=float)
    # stable column set whatever categories the sample holds
    for col, values in CATEGORIES.items():
        for v in values:
            name = f"{col}_{v}"
            if name not in X.columns:
                X[name] = 0.0
    X.columns = [c.replace(".", "_") for c in X.columns]
    return X.reindex(sorted(X.columns), axis=1).astype(float), y
