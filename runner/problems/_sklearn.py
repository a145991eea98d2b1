"""Real machine-learning problems on data sets that ship with scikit-learn (the ``sklearn`` extra).

``svm-digits``, ``svm-breast-cancer``, ``rf-digits``, ``rf-breast-cancer``: the cost is the error
rate (1 - accuracy) on a fixed 30 % validation split; the budget is the fraction of the training
split used (``fidelity = (0.1, 1.0)``), so Hyperband can stop bad configurations early. The
optimum is unknown. Data are loaded once per worker process.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

from runner.problems._problem import Problem
from runner.problems._registry import register

__all__ = ["FIDELITY", "ml_target"]

FIDELITY = (0.1, 1.0)
_SPACES: dict[str, dict[str, Any]] = {
    "svm": {"C": (1e-3, 1e3, "log"), "gamma": (1e-5, 1e1, "log")},
    "rf": {"n_estimators": (10, 200, "log"), "max_depth": (1, 20), "min_samples_split": (2, 16),
           "max_features": (0.05, 1.0)},
}
_SECONDS = {"svm": 0.05, "rf": 0.5}  # rough full-budget fit time here, for the runtime model


@functools.lru_cache(maxsize=4)
def _data(dataset: str) -> tuple[Any, Any, Any, Any]:
    """The (train X, validation X, train y, validation y) split of ``dataset``, scaled."""
    from sklearn import datasets
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import StandardScaler

    loader = {"digits": datasets.load_digits, "breast-cancer": datasets.load_breast_cancer}
    x, y = loader[dataset](return_X_y=True)
    x_train, x_valid, y_train, y_valid = train_test_split(x, y, test_size=0.3, random_state=0,
                                                          stratify=y)
    scaler = StandardScaler().fit(x_train)
    return scaler.transform(x_train), scaler.transform(x_valid), y_train, y_valid


def _model(model: str, config: Mapping[str, Any], seed: int | None) -> Any:
    if model == "svm":
        from sklearn.svm import SVC

        return SVC(C=float(config["C"]), gamma=float(config["gamma"]))
    from sklearn.ensemble import RandomForestClassifier

    return RandomForestClassifier(
        n_estimators=int(config["n_estimators"]), max_depth=int(config["max_depth"]),
        min_samples_split=int(config["min_samples_split"]),
        max_features=float(config["max_features"]), random_state=seed or 0, n_jobs=1)


def ml_target(config: Mapping[str, Any], *, budget: float | None = None, seed: int | None = None,
              model: str, dataset: str) -> tuple[float, dict[str, Any]]:
    """Fit ``model`` on ``budget`` of the training split; the validation error and fit runtime."""
    x_train, x_valid, y_train, y_valid = _data(dataset)
    fraction = FIDELITY[1] if budget is None else min(max(float(budget), FIDELITY[0]), 1.0)
    n = max(20, int(round(fraction * len(y_train))))
    estimator = _model(model, config, seed).fit(x_train[:n], y_train[:n])
    error = 1.0 - float(estimator.score(x_valid, y_valid))
    return error, {"runtime": ml_runtime(config, budget, model=model)}


def ml_runtime(config: Mapping[str, Any], budget: float | None = None, *, model: str) -> float:
    """The runtime model: proportional to the training fraction (and trees, for forests)."""
    fraction = 1.0 if budget is None else float(budget)
    trees = float(config.get("n_estimators", 100)) / 100.0 if model == "rf" else 1.0
    return _SECONDS[model] * fraction * trees


def _make(model: str, dataset: str) -> Problem:
    try:
        import sklearn  # noqa: F401
    except ImportError as exc:
        raise ImportError(f"problem '{model}-{dataset}' needs scikit-learn: "
                          "pip install 'trialrunner[sklearn]'") from exc
    return Problem(f"{model}-{dataset}", _SPACES[model],
                   functools.partial(ml_target, model=model, dataset=dataset),
                   fidelity=FIDELITY, runtime=functools.partial(ml_runtime, model=model))


for _model_name in _SPACES:
    for _dataset in ("digits", "breast-cancer"):
        register(f"{_model_name}-{_dataset}", functools.partial(_make, _model_name, _dataset))
