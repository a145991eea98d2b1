"""Real machine-learning problems on data sets that ship with scikit-learn (the ``sklearn`` extra).

``svm-digits``, ``svm-breast-cancer``, ``rf-digits``, ``rf-breast-cancer``: the cost is the error
rate (1 - accuracy) on a fixed 30 % validation split; the budget is the fraction of the training
split used (``fidelity = (0.1, 1.0)``), so Hyperband can stop bad configurations early. The
optimum is unknown. Data are loaded once per worker process.

``mlp-digits-lc``, ``mlp-breast-cancer-lc``: real learning curves. A one-hidden-layer
``MLPClassifier`` is trained epoch by epoch (``partial_fit``) on the same split; the budget is
the number of epochs (``fidelity = (1, 27)``), the cost the validation error after the last
one. The target takes ``report`` and ``checkpoint`` (both optional): after each epoch it saves
the model to ``checkpoint/model.pkl``, then reports ``(epoch, error, log_loss=...)``; a later
run of the same configuration and seed that finds the model there goes on from its epoch, with
the same weights as a run that never stopped. It returns no runtime model: the runner measures
real time.
"""

from __future__ import annotations

import functools
import math
import numbers
import os
import pickle
import zlib
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from runner.problems._problem import Problem
from runner.problems._registry import register

__all__ = ["EPOCHS", "FIDELITY", "MLP_SPACE", "ml_target", "mlp_target"]

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


# -- learning curves: an MLP trained epoch by epoch ---------------------------------------------

EPOCHS = (1, 27)
"""The budget range of the MLP problems, in epochs: three halvings with eta = 3."""
MLP_SPACE: dict[str, Any] = {
    "hidden_units": (16, 256, "log"), "learning_rate_init": (1e-4, 1e-1, "log"),
    "alpha": (1e-6, 1e-1, "log"), "batch_size": (16, 256, "log"),
}
MODEL_FILE = "model.pkl"
"""The file the MLP target saves its model and epoch to in its ``checkpoint`` directory."""


def _mlp_params(config: Mapping[str, Any]) -> dict[str, Any]:
    """MLPClassifier's arguments from ``config``; ``ValueError`` naming a missing or bad value."""
    def get(name: str, integer: bool, zero_ok: bool = False) -> Any:
        if name not in config:
            raise ValueError(f"MLP problem: the configuration has no {name!r} "
                             f"(expected {sorted(MLP_SPACE)}), got {dict(config)!r}")
        value = config[name]
        kind = numbers.Integral if integer else numbers.Real
        ok = not isinstance(value, bool) and isinstance(value, kind) and math.isfinite(value) \
            and (float(value) >= 0 if zero_ok else float(value) > 0)
        if not ok:
            what = "an int >= 1" if integer else "a number >= 0" if zero_ok else "a number > 0"
            raise ValueError(f"MLP problem: {name!r} must be {what}, got {value!r} "
                             f"(type {type(value).__name__})")
        return int(value) if integer else float(value)

    return {"hidden_layer_sizes": (get("hidden_units", True),),
            "learning_rate_init": get("learning_rate_init", False),
            "alpha": get("alpha", False, zero_ok=True), "batch_size": get("batch_size", True)}


def _epoch_seed(seed: int | None, epoch: int) -> int:
    """The random state of one epoch (initial weights at epoch 1, the shuffle of every epoch):
    a function of the trial seed and the epoch only, so a continued run draws what an
    uninterrupted one does. (MLPClassifier re-reads ``random_state`` at each ``partial_fit``:
    a fixed int would shuffle every epoch the same way.)"""
    return zlib.crc32(f"{0 if seed is None else seed}/{epoch}".encode())


def _load(checkpoint: Path | None, key: dict[str, Any], epochs: int) -> tuple[Any, int]:
    """(model, epoch) saved in ``checkpoint`` by a run of the same configuration and seed that
    got no further than ``epochs``; ``(None, 0)`` when there is none (or it is unreadable)."""
    if checkpoint is None:
        return None, 0
    try:
        with open(Path(checkpoint) / MODEL_FILE, "rb") as f:
            state = pickle.load(f)
        epoch = int(state["epoch"])
    except (OSError, EOFError, pickle.UnpicklingError, KeyError, TypeError, ValueError):
        return None, 0
    if state.get("key") != key or not 0 < epoch <= epochs:
        return None, 0
    return state["model"], epoch


def _save(checkpoint: Path, key: dict[str, Any], epoch: int, model: Any) -> None:
    """Write the model atomically, so a trial killed while saving leaves the previous epoch."""
    path = Path(checkpoint) / MODEL_FILE
    tmp = path.with_name(MODEL_FILE + ".tmp")
    with open(tmp, "wb") as f:
        pickle.dump({"key": key, "epoch": epoch, "model": model}, f,
                    protocol=pickle.HIGHEST_PROTOCOL)
    os.replace(tmp, path)


def _evaluate(model: Any, x_valid: Any, y_valid: Any) -> tuple[float, float]:
    """(validation error, validation log-loss) of ``model``."""
    from sklearn.metrics import log_loss

    proba = model.predict_proba(x_valid)
    error = 1.0 - float((model.classes_[proba.argmax(axis=1)] == y_valid).mean())
    return error, float(log_loss(y_valid, proba, labels=model.classes_))


def mlp_target(config: Mapping[str, Any], *, budget: float | None = None,
               seed: int | None = None, report: Callable[..., Any] | None = None,
               checkpoint: Path | None = None, dataset: str) -> float:
    """Train an MLP for ``budget`` epochs (continuing a model saved in ``checkpoint`` by an
    earlier run of this configuration and seed); the validation error after the last epoch.
    After each epoch: save (with a checkpoint), then ``report(epoch, error, log_loss=...)``."""
    import numpy as np
    from sklearn.neural_network import MLPClassifier
    from threadpoolctl import threadpool_limits

    params = _mlp_params(config)
    epochs = EPOCHS[1] if budget is None else min(max(int(round(float(budget))), EPOCHS[0]),
                                                  EPOCHS[1])
    x_train, x_valid, y_train, y_valid = _data(dataset)
    key = {"config": dict(config), "seed": seed}
    model, epoch = _load(checkpoint, key, epochs)
    if model is None:
        model = MLPClassifier(**params, solver="adam", shuffle=True)
    error = None
    with threadpool_limits(1):  # one core per trial, as the forests' n_jobs=1
        while epoch < epochs:
            epoch += 1
            model.set_params(random_state=_epoch_seed(seed, epoch))
            model.partial_fit(x_train, y_train, classes=np.unique(y_train))
            if checkpoint is not None:
                _save(checkpoint, key, epoch, model)
            if report is not None:
                error, loss = _evaluate(model, x_valid, y_valid)
                report(epoch, error, log_loss=loss)
        return _evaluate(model, x_valid, y_valid)[0] if error is None else error


def _make_mlp(dataset: str) -> Problem:
    try:
        import sklearn  # noqa: F401
    except ImportError as exc:
        raise ImportError(f"problem 'mlp-{dataset}-lc' needs scikit-learn: "
                          "pip install 'trialrunner[sklearn]'") from exc
    return Problem(f"mlp-{dataset}-lc", MLP_SPACE,
                   functools.partial(mlp_target, dataset=dataset),
                   fidelity=(float(EPOCHS[0]), float(EPOCHS[1])))


for _dataset in ("digits", "breast-cancer"):
    register(f"mlp-{_dataset}-lc", functools.partial(_make_mlp, _dataset))
