#!/usr/bin/env python3
"""scikit-learn on exactly the windows `trainer baselines --export-npy DIR` saw, side by side
with the Rust scores and training times.

    trainer baselines CACHE --export-npy DIR [...]     # writes DIR/*.npy and DIR/baselines.json
    python bench/sklearn_baselines.py DIR [--input spectrogram] [--no-offline] [--json OUT]

Mirrors the Rust run's settings (read from DIR/baselines.json):
- SGD: `SGDClassifier(loss, penalty="l2", alpha, learning_rate, eta0, power_t, shuffle=False)`,
  one `partial_fit` per exported epoch in the exported order; composer one-vs-rest (sklearn's
  own), one binary model per instrument; features standardised with `StandardScaler` fitted on
  epoch 0 (unless the run turned it off).
- Offline, on the first N windows of epoch 0: `KNeighborsClassifier(k, algorithm="brute")`,
  `AdaBoostClassifier(LogisticRegression(max_iter), n_estimators)` (SAMME, reweighting; the Rust
  one resamples), one per instrument via `MultiOutputClassifier`; and both after
  `PCA(n_components=share, svd_solver="full")`.
- Protocol: the exported test stacks (4 windows each); a stack's scores are the mean of its
  windows' scores; composer = argmax, instrument = score >= threshold; samples-F1 with
  zero_division=0; exact match = composer and all instruments right.
Needs numpy and scikit-learn (a venv: `pip install numpy scikit-learn`).
"""

import argparse
import json
import pathlib
import re
import sys
import time

import numpy as np
from sklearn.decomposition import PCA
from sklearn.ensemble import AdaBoostClassifier
from sklearn.linear_model import LogisticRegression, SGDClassifier
from sklearn.metrics import f1_score
from sklearn.multioutput import MultiOutputClassifier
from sklearn.neighbors import KNeighborsClassifier
from sklearn.preprocessing import StandardScaler

PAIRS = [("perceptron", "perceptron"), ("hinge", "log"), ("modified_huber", "modified_huber")]
SKLEARN_LOSS = {"perceptron": "perceptron", "hinge": "hinge", "log": "log_loss",
                "modified_huber": "modified_huber"}


def pair_name(c, i):
    return f"SGD {c}" if c == i else f"SGD {c}/{i}"


def score(loss, d):
    """The Rust side's decision -> [0, 1] map (sgd.rs, Loss::score)."""
    if loss == "modified_huber":
        return (np.clip(d, -1.0, 1.0) + 1.0) / 2.0
    return 1.0 / (1.0 + np.exp(-d))


def load_x(path, input_kind):
    x = np.load(path).astype(np.float64)
    return x / 32768.0 if input_kind == "raw" else x


def composer_scores(loss, decisions):
    s = score(loss, decisions)
    total = s.sum(axis=1, keepdims=True)
    k = s.shape[1]
    return np.where(total > 0, s / np.where(total > 0, total, 1), 1.0 / k)


def protocol_scores(stack_composer, stack_instruments, c_scores, i_scores, threshold):
    """Mean over each stack's 4 windows, then the protocol's three headline figures."""
    windows = c_scores.shape[0] // len(stack_composer)
    c = c_scores.reshape(len(stack_composer), windows, -1).mean(axis=1)
    i = i_scores.reshape(len(stack_composer), windows, -1).mean(axis=1)
    predicted_c = c.argmax(axis=1)
    predicted_i = i >= threshold
    return predicted_c, predicted_i


def figures(truth_c, truth_i, pred_c, pred_i):
    composer = float((pred_c == truth_c).mean())
    f1 = float(f1_score(truth_i, pred_i, average="samples", zero_division=0))
    exact = float(((pred_c == truth_c) & (pred_i == truth_i).all(axis=1)).mean())
    return composer, f1, exact


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("dir", type=pathlib.Path, help="the --export-npy folder")
    parser.add_argument("--input", default="spectrogram", choices=["raw", "spectrogram"])
    parser.add_argument("--no-offline", action="store_true", help="skip KNN/AdaBoost/PCA")
    parser.add_argument("--json", type=pathlib.Path, help="also write the comparison here")
    args = parser.parse_args()
    d, kind = args.dir, args.input
    ours = json.loads((d / "baselines.json").read_text())
    settings = ours["settings"]
    online, offline = settings["online"], settings["offline"]
    threshold = ours["protocol"]["threshold"]
    epochs = online["epochs"]
    sgd = online["sgd"]
    n_offline = settings["offline_windows"]

    # Training epochs.
    x0 = load_x(d / f"{kind}_train_e0_x.npy", kind)
    started = time.perf_counter()
    scaler = StandardScaler().fit(x0) if online["standardize"] else None
    scaler_seconds = time.perf_counter() - started
    transform = (lambda x: scaler.transform(x)) if scaler is not None else (lambda x: x)
    if "composers" in settings:
        composers = len(settings["composers"])
    else:  # exports of older runs: the largest class seen anywhere
        composers = 1 + max(int(np.load(p).max()) for p in d.glob("*_composer.npy"))
    k_classes = np.arange(composers)
    m = np.load(d / "train_e0_instruments.npy").shape[1]

    def sgd_model(loss):
        return SGDClassifier(loss=SKLEARN_LOSS[loss], penalty="l2", alpha=sgd["alpha"],
                             learning_rate=sgd["schedule"], eta0=sgd["eta0"],
                             power_t=sgd["power_t"], shuffle=False, fit_intercept=True)

    models = {pair: (sgd_model(pair[0]), [sgd_model(pair[1]) for _ in range(m)])
              for pair in PAIRS}
    seconds = {pair: scaler_seconds for pair in PAIRS}
    offline_x = offline_c = offline_i = None
    for e in range(epochs):
        x = transform(x0 if e == 0 else load_x(d / f"{kind}_train_e{e}_x.npy", kind))
        yc = np.load(d / f"train_e{e}_composer.npy")
        yi = np.load(d / f"train_e{e}_instruments.npy")
        if e == 0:
            offline_x, offline_c, offline_i = x[:n_offline], yc[:n_offline], yi[:n_offline]
        for pair, (composer, instruments) in models.items():
            started = time.perf_counter()
            composer.partial_fit(x, yc, classes=k_classes)
            for j, model in enumerate(instruments):
                model.partial_fit(x, yi[:, j], classes=np.array([0, 1]))
            seconds[pair] += time.perf_counter() - started
        print(f"epoch {e + 1}/{epochs}", file=sys.stderr)

    # Offline models.
    fitted = {}
    if not args.no_offline and kind in settings["offline_inputs"]:
        k = offline["k"]
        boost = offline["boost"]

        def knn(x):
            c = KNeighborsClassifier(n_neighbors=k, algorithm="brute").fit(x, offline_c)
            i = KNeighborsClassifier(n_neighbors=k, algorithm="brute").fit(x, offline_i)
            return c, i

        def ada(x):
            def make():
                return AdaBoostClassifier(
                    estimator=LogisticRegression(max_iter=boost["iterations"]),
                    n_estimators=boost["rounds"], random_state=0)
            c = make().fit(x, offline_c)
            i = MultiOutputClassifier(make()).fit(x, offline_i)
            return c, i

        for name, reduce, fit in [("KNN", False, knn), ("AdaBoost-logistic", False, ada),
                                  ("PCA + KNN", True, knn), ("PCA + AdaBoost-logistic", True, ada)]:
            started = time.perf_counter()
            pca = PCA(n_components=offline["pca_variance"], svd_solver="full").fit(offline_x) \
                if reduce else None
            x = pca.transform(offline_x) if pca is not None else offline_x
            c, i = fit(x)
            fitted[name] = (pca, c, i, time.perf_counter() - started)
            extra = f", {pca.n_components_} components" if pca is not None else ""
            print(f"fitted {name}{extra}", file=sys.stderr)

    def instrument_proba(model, x):
        """P(instrument) per output of a multi-output classifier (0 where never seen)."""
        probas = model.predict_proba(x)
        cols = []
        for p, classes in zip(probas, [e.classes_ for e in getattr(model, "estimators_", [])]
                              or model.classes_):
            classes = list(classes)
            cols.append(p[:, classes.index(1)] if 1 in classes else np.zeros(len(x)))
        return np.stack(cols, axis=1)

    # Test protocol.
    truth_c, truth_i = [], []
    predictions = {name: ([], []) for name in
                   [pair_name(*p) for p in PAIRS] + list(fitted)}
    test_files = sorted(d.glob(f"{kind}_test_r*_x.npy"),
                        key=lambda p: int(re.search(r"_r(\d+)_x", p.name).group(1)))
    for path in test_files:
        rid = re.search(r"_r(\d+)_x", path.name).group(1)
        x = transform(load_x(path, kind))
        tc = np.load(d / f"test_r{rid}_composer.npy")
        ti = np.load(d / f"test_r{rid}_instruments.npy").astype(bool)
        truth_c.append(tc)
        truth_i.append(ti)
        for pair, (composer, instruments) in models.items():
            cs = composer_scores(pair[0], composer.decision_function(x))
            iscore = np.stack([score(pair[1], mdl.decision_function(x)) for mdl in instruments],
                              axis=1)
            pc, pi = protocol_scores(tc, ti, cs, iscore, threshold)
            predictions[pair_name(*pair)][0].append(pc)
            predictions[pair_name(*pair)][1].append(pi)
        for name, (pca, c, i, _) in fitted.items():
            z = pca.transform(x) if pca is not None else x
            cs = np.zeros((len(z), composers))
            cs[:, c.classes_] = c.predict_proba(z)
            pc, pi = protocol_scores(tc, ti, cs, instrument_proba(i, z), threshold)
            predictions[name][0].append(pc)
            predictions[name][1].append(pi)
    truth_c, truth_i = np.concatenate(truth_c), np.concatenate(truth_i)

    rust = {(r["model"], r["input"]): r for r in ours["rows"]}
    rows = []
    print(f"\nscikit-learn vs Rust on the exported {kind} windows "
          f"({len(truth_c)} test stacks, {len(test_files)} recordings)")
    print(f"{'model':<26} {'composer sk/rs':>16} {'instr F1 sk/rs':>16} {'exact sk/rs':>14} "
          f"{'train s sk/rs':>16}")
    for name, (pc, pi) in predictions.items():
        c, f1, exact = figures(truth_c, truth_i, np.concatenate(pc), np.concatenate(pi))
        sk_seconds = seconds[next(p for p in PAIRS if pair_name(*p) == name)] \
            if name.startswith("SGD") else fitted[name][3]
        r = rust.get((name, kind), {})
        rows.append({"model": name, "input": kind,
                     "sklearn": {"composer_accuracy": c, "instrument_samples_f1": f1,
                                 "exact_match": exact, "train_seconds": sk_seconds},
                     "rust": {k: r.get(k) for k in ["composer_accuracy", "instrument_samples_f1",
                                                    "exact_match", "train_seconds"]}})
        fmt = lambda a, b: f"{a:.3f}/{b:.3f}" if b is not None else f"{a:.3f}/n.a."
        print(f"{name:<26} {fmt(c, r.get('composer_accuracy')):>16} "
              f"{fmt(f1, r.get('instrument_samples_f1')):>16} "
              f"{fmt(exact, r.get('exact_match')):>14} "
              f"{sk_seconds:>7.1f}/{r.get('train_seconds', float('nan')):<7.1f}")
    for name, (pca, *_rest) in fitted.items():
        if pca is not None:
            print(f"{name}: scikit-learn PCA keeps {pca.n_components_} components")
            break
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2) + "\n")


if __name__ == "__main__":
    main()
