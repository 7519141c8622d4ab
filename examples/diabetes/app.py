"""Diabetes progression predictor: a small Streamlit data-science demo.

Trains a model on scikit-learn's bundled diabetes dataset (no download),
caches it with joblib in a writable directory (the image's /app may be
read-only) and predicts from a form.

Model location: $MODEL_DIR, else $TMPDIR (or the system temp dir); when
nothing is writable the model is simply kept in memory.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
import streamlit as st
from sklearn.datasets import load_diabetes
from sklearn.ensemble import RandomForestRegressor
from sklearn.linear_model import Ridge
from sklearn.metrics import mean_absolute_error, r2_score
from sklearn.model_selection import train_test_split

MODELS = {
    "Ridge regression": lambda: Ridge(alpha=1.0),
    "Random forest": lambda: RandomForestRegressor(n_estimators=100, random_state=0, n_jobs=1),
}


def load_data() -> pd.DataFrame:
    data = load_diabetes(as_frame=True)
    df = data.frame.copy()
    return df


def model_dir() -> Path | None:
    """First writable directory for the model file, or None."""
    candidates = [os.environ.get("MODEL_DIR"), os.environ.get("TMPDIR"), tempfile.gettempdir()]
    for c in candidates:
        if not c:
            continue
        p = Path(c) / "diabetes-model"
        try:
            p.mkdir(parents=True, exist_ok=True)
            probe = p / ".write-test"
            probe.write_text("ok")
            probe.unlink()
            return p
        except OSError:
            continue
    return None


def train(df: pd.DataFrame, kind: str):
    X = df.drop(columns="target")
    y = df["target"]
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, random_state=42)
    model = MODELS[kind]()
    model.fit(X_train, y_train)
    pred = model.predict(X_test)
    metrics = {"r2": float(r2_score(y_test, pred)), "mae": float(mean_absolute_error(y_test, pred))}
    return model, metrics


@st.cache_resource
def get_model(kind: str):
    """Load the model from disk when saved earlier, else train (and save if possible)."""
    df = load_data()
    d = model_dir()
    path = d / f"{kind.lower().replace(' ', '-')}.joblib" if d else None
    if path is not None and path.exists():
        try:
            bundle = joblib.load(path)
            return bundle["model"], bundle["metrics"], f"loaded from {path}"
        except Exception:  # corrupt or from another version: retrain
            pass
    model, metrics = train(df, kind)
    where = "kept in memory (no writable directory)"
    if path is not None:
        try:
            joblib.dump({"model": model, "metrics": metrics}, path)
            where = f"trained and saved to {path}"
        except OSError:
            pass
    return model, metrics, where


def main() -> None:
    st.set_page_config(page_title="Diabetes progression", page_icon="🩺")
    st.title("Diabetes progression predictor")
    st.caption(
        "scikit-learn's diabetes dataset: 442 patients, 10 baseline variables "
        "(mean-centred and scaled), target = disease progression one year later."
    )

    df = load_data()
    kind = st.sidebar.selectbox("Model", list(MODELS))
    model, metrics, where = get_model(kind)
    st.sidebar.metric("R² (held-out)", f"{metrics['r2']:.3f}")
    st.sidebar.metric("MAE (held-out)", f"{metrics['mae']:.1f}")
    st.sidebar.caption(f"Model {where}.")

    with st.expander("Data"):
        st.dataframe(df.head(20))
        st.write(df.describe().T[["mean", "std", "min", "max"]])

    features = [c for c in df.columns if c != "target"]
    with st.form("predict"):
        st.subheader("Patient")
        values = {}
        cols = st.columns(2)
        for i, name in enumerate(features):
            col = df[name]
            values[name] = cols[i % 2].slider(
                name,
                min_value=float(col.min()),
                max_value=float(col.max()),
                value=float(col.median()),
                step=float((col.max() - col.min()) / 100),
                format="%.3f",
            )
        submitted = st.form_submit_button("Predict")

    if submitted:
        row = pd.DataFrame([values], columns=features)
        pred = float(model.predict(row)[0])
        pct = float(np.mean(df["target"] <= pred) * 100)
        st.success(f"Predicted progression: **{pred:.1f}** (higher than {pct:.0f}% of the dataset)")


if __name__ == "__main__":
    main()
