//! Every baseline model must solve a small separable problem and must not pretend on a
//! non-separable one (random labels → validation score near chance); plus the pieces' exact
//! contracts (scikit-learn's SGD update, the KNN search against linfa-nn's, PCA's variance
//! cutoff, the standardiser, the CNN row, the plots).

use linfa_nn::distance::L2Dist;
use linfa_nn::{LinearSearch, NearestNeighbour};
use ndarray::{Array2, Axis};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use trainer::baselines::adaboost::{AdaBoost, AdaBoostConfig};
use trainer::baselines::knn::Knn;
use trainer::baselines::pca::Pca;
use trainer::baselines::scaler::Standardizer;
use trainer::baselines::sgd::{LinearSgd, Loss, Schedule, SgdBinary, SgdConfig};
use trainer::baselines::table::Row;

const LOSSES: [Loss; 4] = [
    Loss::Perceptron,
    Loss::Hinge,
    Loss::Log,
    Loss::ModifiedHuber,
];

/// Standard normal-ish noise (sum of uniforms), seeded.
fn noise(rng: &mut ChaCha8Rng) -> f32 {
    (0..6).map(|_| rng.random::<f32>()).sum::<f32>() - 3.0
}

/// `n` points of `d` features around one of `k` class centres (separated by `gap` in the first
/// k features); labels cycle through the classes.
fn blobs(n: usize, d: usize, k: usize, gap: f32, seed: u64) -> (Array2<f32>, Vec<usize>) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let labels: Vec<usize> = (0..n).map(|i| i % k).collect();
    let x = Array2::from_shape_fn((n, d), |(i, j)| {
        let centre = if j == labels[i] { gap } else { 0.0 };
        centre + noise(&mut rng) * 0.5
    });
    (x, labels)
}

/// Pure noise with random labels: nothing to learn.
fn random_problem(n: usize, d: usize, k: usize, seed: u64) -> (Array2<f32>, Vec<usize>) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let x = Array2::from_shape_fn((n, d), |_| noise(&mut rng));
    let labels = (0..n).map(|_| rng.random_range(0..k)).collect();
    (x, labels)
}

fn accuracy(predicted: &[usize], truth: &[usize]) -> f64 {
    predicted.iter().zip(truth).filter(|(p, t)| p == t).count() as f64 / truth.len() as f64
}

fn argmax(v: &[f64]) -> usize {
    let mut best = 0;
    for (i, x) in v.iter().enumerate() {
        if *x > v[best] {
            best = i;
        }
    }
    best
}

fn sgd_fit(loss: Loss, x: &Array2<f32>, y: &[usize], k: usize, epochs: usize) -> LinearSgd {
    let config = SgdConfig {
        eta0: 1e-2,
        ..SgdConfig::reference(loss)
    };
    let mut model = LinearSgd::new(config, k, x.ncols());
    for _ in 0..epochs {
        model.partial_fit(x.view(), |i, c| y[i] == c);
    }
    model
}

fn sgd_predict(model: &LinearSgd, x: &Array2<f32>) -> Vec<usize> {
    x.outer_iter()
        .map(|r| argmax(&model.decisions(r.as_slice().unwrap())))
        .collect()
}

#[test]
fn sgd_solves_separable_blobs_with_every_loss() {
    let (x, y) = blobs(300, 20, 3, 4.0, 1);
    let (vx, vy) = blobs(300, 20, 3, 4.0, 2);
    for loss in LOSSES {
        let model = sgd_fit(loss, &x, &y, 3, 5);
        let acc = accuracy(&sgd_predict(&model, &vx), &vy);
        assert!(acc > 0.97, "{loss:?}: validation accuracy {acc}");
    }
}

#[test]
fn sgd_does_not_pretend_on_random_labels() {
    let (x, y) = random_problem(400, 50, 2, 3);
    let (vx, vy) = random_problem(2000, 50, 2, 4);
    for loss in LOSSES {
        let model = sgd_fit(loss, &x, &y, 2, 5);
        let acc = accuracy(&sgd_predict(&model, &vx), &vy);
        assert!(
            (0.44..0.56).contains(&acc),
            "{loss:?}: validation accuracy {acc} on noise"
        );
    }
}

#[test]
fn sgd_step_is_scikit_learns_update() {
    // Two steps by hand: w0 = 0, b0 = 0; η = 0.1, α = 0.01, hinge.
    let config = SgdConfig {
        loss: Loss::Hinge,
        alpha: 0.01,
        eta0: 0.1,
        schedule: Schedule::Constant,
        power_t: 0.5,
    };
    let mut m = SgdBinary::new(2);
    m.step(&config, &[1.0, 2.0], 1.0, 1.0);
    // p = 0 → dloss = −1, update = 0.1; wscale = 0.999; w = (0.1, 0.2), b = 0.1.
    let (w, b) = m.coefficients();
    assert!((w[0] - 0.1).abs() < 1e-12 && (w[1] - 0.2).abs() < 1e-12 && (b - 0.1).abs() < 1e-12);
    m.step(&config, &[-1.0, 0.5], -1.0, 2.0);
    // p = −0.1 + 0.1 + 0.1 = 0.1, y p = −0.1 ≤ 1 → update = −0.1; shrink by 0.999 first.
    let (w, b) = m.coefficients();
    assert!((w[0] - (0.1 * 0.999 + 0.1)).abs() < 1e-12, "{w:?}");
    assert!((w[1] - (0.2 * 0.999 - 0.05)).abs() < 1e-12, "{w:?}");
    assert!((b - 0.0).abs() < 1e-12);
    // Schedules.
    let optimal = SgdConfig {
        schedule: Schedule::Optimal,
        ..config
    };
    assert!(optimal.eta(1.0) > optimal.eta(100.0));
    let inv = SgdConfig {
        schedule: Schedule::Invscaling,
        ..config
    };
    assert!((inv.eta(4.0) - 0.05).abs() < 1e-12);
}

#[test]
fn losses_and_scores_follow_their_definitions() {
    for loss in LOSSES {
        // dloss is the derivative of loss away from kinks.
        for p in [-3.0, -0.5, 0.3, 0.7, 2.0] {
            let h = 1e-6;
            let numeric = (loss.loss(p + h, 1.0) - loss.loss(p - h, 1.0)) / (2.0 * h);
            assert!(
                (numeric - loss.dloss(p, 1.0)).abs() < 1e-4,
                "{loss:?} at {p}"
            );
        }
        assert!(loss.score(5.0) > 0.5 && loss.score(-5.0) < 0.5);
    }
    assert_eq!(Loss::ModifiedHuber.score(3.0), 1.0);
    assert_eq!(Loss::ModifiedHuber.score(0.0), 0.5);
}

#[test]
fn knn_agrees_with_linfa_nn_and_solves_blobs() {
    let (x, y) = blobs(200, 30, 4, 3.0, 5);
    let (q, qy) = blobs(50, 30, 4, 3.0, 6);
    let knn = Knn::fit(5, x.clone(), y.clone(), vec![vec![]; 200], 4);
    let ours = knn.neighbours(q.view());
    let index = LinearSearch::new().from_batch(&x, L2Dist).unwrap();
    for (row, found) in q.outer_iter().zip(&ours) {
        let mut reference: Vec<usize> = index
            .k_nearest(row, 5)
            .unwrap()
            .into_iter()
            .map(|(_, i)| i)
            .collect();
        let mut mine = found.clone();
        reference.sort_unstable();
        mine.sort_unstable();
        assert_eq!(mine, reference);
    }
    let predicted: Vec<usize> = knn.scores(q.view()).0.iter().map(|s| argmax(s)).collect();
    assert!(accuracy(&predicted, &qy) > 0.97);
}

#[test]
fn knn_does_not_pretend_on_random_labels() {
    let (x, y) = random_problem(500, 20, 2, 7);
    let (q, qy) = random_problem(1000, 20, 2, 8);
    let knn = Knn::fit(5, x, y, vec![vec![]; 500], 2);
    let predicted: Vec<usize> = knn.scores(q.view()).0.iter().map(|s| argmax(s)).collect();
    let acc = accuracy(&predicted, &qy);
    assert!((0.44..0.56).contains(&acc), "{acc}");
}

#[test]
fn knn_instrument_scores_are_neighbour_shares() {
    let x = Array2::from_shape_vec((4, 1), vec![0.0, 0.1, 0.2, 10.0]).unwrap();
    let flags = vec![vec![true], vec![true], vec![false], vec![false]];
    let knn = Knn::fit(3, x, vec![0, 0, 1, 1], flags, 2);
    let q = Array2::from_shape_vec((1, 1), vec![0.05]).unwrap();
    let (c, i) = knn.scores(q.view());
    assert!((c[0][0] - 2.0 / 3.0).abs() < 1e-12 && (i[0][0] - 2.0 / 3.0).abs() < 1e-12);
}

#[test]
fn pca_keeps_the_variance_share_like_scikit_learn() {
    // Variances 16, 4, 1, 0 along the axes (scaled columns of ±1 patterns): ratios 16/21, ...
    let n = 64;
    let x = Array2::from_shape_fn((n, 4), |(i, j)| {
        let sign = if (i >> j) & 1 == 1 { 1.0 } else { -1.0 };
        [4.0, 2.0, 1.0, 0.0][j] * sign
    });
    let pca = Pca::fit(x.view(), 0.75).unwrap();
    assert_eq!(pca.components(), 1, "16/21 = 0.76 > 0.75");
    assert!((pca.explained() - 16.0 / 21.0).abs() < 1e-6);
    let pca = Pca::fit(x.view(), 0.8).unwrap();
    assert_eq!(pca.components(), 2);
    // The Gram path (N < D) gives the same spectrum as the scatter path.
    let wide = x.t().to_owned();
    let a = Pca::fit(wide.view(), 0.99).unwrap();
    let b = Pca::fit(wide.t().t(), 0.99).unwrap();
    assert_eq!(a.components(), b.components());
    // Projections of a wide problem keep the distances of the centred data (all variance kept).
    let (w, _) = blobs(10, 50, 3, 2.0, 9);
    let full = Pca::fit(w.view(), 0.999_999).unwrap();
    let p = full.transform(w.view());
    let d_orig = (&w.row(0) - &w.row(1)).mapv(|v| v * v).sum().sqrt();
    let d_proj = (&p.row(0) - &p.row(1)).mapv(|v| v * v).sum().sqrt();
    assert!(
        (d_orig - d_proj).abs() < 1e-3 * d_orig,
        "{d_orig} vs {d_proj}"
    );
}

#[test]
fn pca_then_knn_solves_blobs_in_few_components() {
    let (x, y) = blobs(300, 40, 3, 6.0, 10);
    let (q, qy) = blobs(100, 40, 3, 6.0, 11);
    let pca = Pca::fit(x.view(), 0.5).unwrap();
    assert!(pca.components() < 10, "{}", pca.components());
    let knn = Knn::fit(5, pca.transform(x.view()), y, vec![vec![]; 300], 3);
    let predicted: Vec<usize> = knn
        .scores(pca.transform(q.view()).view())
        .0
        .iter()
        .map(|s| argmax(s))
        .collect();
    assert!(accuracy(&predicted, &qy) > 0.95);
}

fn boost_config() -> AdaBoostConfig {
    AdaBoostConfig {
        rounds: 5,
        iterations: 50,
        alpha: 1.0,
    }
}

#[test]
fn adaboost_solves_blobs_and_its_scores_are_probabilities() {
    let (x, y) = blobs(200, 10, 3, 3.0, 12);
    let (q, qy) = blobs(200, 10, 3, 3.0, 13);
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let model = AdaBoost::fit(&boost_config(), x.view(), &y, 3, &mut rng).unwrap();
    assert!(model.rounds() >= 1);
    let scores = model.scores(q.view());
    for row in scores.axis_iter(Axis(0)) {
        assert!((row.sum() - 1.0).abs() < 1e-9);
    }
    let predicted: Vec<usize> = scores
        .outer_iter()
        .map(|r| argmax(r.as_slice().unwrap()))
        .collect();
    assert!(accuracy(&predicted, &qy) > 0.95);
    // Binary form.
    let yb: Vec<usize> = y.iter().map(|&c| usize::from(c == 0)).collect();
    let qb: Vec<usize> = qy.iter().map(|&c| usize::from(c == 0)).collect();
    let binary = AdaBoost::fit(&boost_config(), x.view(), &yb, 2, &mut rng).unwrap();
    let predicted: Vec<usize> = binary
        .scores(q.view())
        .outer_iter()
        .map(|r| usize::from(r[1] >= 0.5))
        .collect();
    assert!(accuracy(&predicted, &qb) > 0.95);
}

#[test]
fn adaboost_does_not_pretend_on_random_labels() {
    let (x, y) = random_problem(300, 20, 2, 14);
    let (q, qy) = random_problem(1000, 20, 2, 15);
    let mut rng = ChaCha8Rng::seed_from_u64(2);
    let model = AdaBoost::fit(&boost_config(), x.view(), &y, 2, &mut rng).unwrap();
    let predicted: Vec<usize> = model
        .scores(q.view())
        .outer_iter()
        .map(|r| usize::from(r[1] >= 0.5))
        .collect();
    let acc = accuracy(&predicted, &qy);
    assert!((0.43..0.57).contains(&acc), "{acc}");
}

#[test]
fn standardizer_centres_and_scales_and_keeps_constant_columns() {
    let mut x =
        Array2::from_shape_vec((4, 2), vec![1.0, 5.0, 3.0, 5.0, 5.0, 5.0, 7.0, 5.0]).unwrap();
    let s = Standardizer::fit(x.view());
    s.apply(&mut x);
    let col: Vec<f32> = x.column(0).to_vec();
    let sd = 5.0_f32.sqrt();
    assert!((col[0] + 3.0 / sd).abs() < 1e-6 && (col[3] - 3.0 / sd).abs() < 1e-6);
    assert!(
        x.column(1).iter().all(|&v| v == 0.0),
        "constant column centred, scale 1"
    );
}

#[test]
fn the_cnn_row_comes_from_an_eval_report_and_bad_files_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("report.json");
    std::fs::write(
        &path,
        r#"{"examples": 2900, "composer": {"accuracy": 0.8},
            "instruments": {"samples_avg": {"f1": 0.88}}, "exact_match": 0.51}"#,
    )
    .unwrap();
    let row = Row::cnn(&path, Some(60.0), Some(400)).unwrap();
    assert_eq!(
        (
            row.composer_accuracy,
            row.instrument_samples_f1,
            row.exact_match
        ),
        (0.8, 0.88, 0.51)
    );
    assert_eq!(row.examples, 2900);
    std::fs::write(&path, r#"{"examples": 1}"#).unwrap();
    let err = Row::cnn(&path, None, None).unwrap_err().to_string();
    assert!(
        err.contains("report.json") && err.contains("/composer/accuracy"),
        "{err}"
    );
    let err = Row::cnn(&dir.path().join("missing.json"), None, None)
        .unwrap_err()
        .to_string();
    assert!(err.contains("missing.json"), "{err}");
}

#[test]
fn plots_are_written_as_pngs() {
    use trainer::baselines::data::InputKind;
    use trainer::baselines::offline::LearningCurve;
    use trainer::baselines::online::{EpochScores, SgdCurve};
    use trainer::baselines::plots;
    let dir = tempfile::tempdir().unwrap();
    let row = Row {
        model: "SGD hinge/log".into(),
        input: "spectrogram".into(),
        composer_accuracy: 0.45,
        instrument_samples_f1: 0.8,
        exact_match: 0.1,
        examples: 10,
        train_seconds: Some(1.0),
        parameters: Some(10),
        size_bytes: Some(40),
    };
    let bars = dir.path().join("comparison.png");
    plots::comparison(&[row.clone(), row], &bars).unwrap();
    let curve = LearningCurve {
        model: "KNN".into(),
        sizes: vec![10, 20],
        train: vec![0.9, 0.8],
        validation: vec![0.3, 0.4],
        components: vec![],
    };
    let lc = dir.path().join("lc.png");
    plots::learning_curves("spectrogram", &[curve], &lc).unwrap();
    let sgd = SgdCurve {
        model: "SGD log".into(),
        input: InputKind::Raw,
        epochs: (1..=3)
            .map(|epoch| EpochScores {
                epoch,
                composer_accuracy: 0.2,
                instrument_accuracy: vec![0.5, 0.6],
            })
            .collect(),
    };
    let sc = dir.path().join("sgd.png");
    plots::sgd_instrument_curves("raw", &[&sgd], &["Piano".into(), "Violin".into()], &sc).unwrap();
    for path in [bars, lc, sc] {
        let bytes = std::fs::read(&path).unwrap();
        assert_eq!(&bytes[1..4], b"PNG", "{}", path.display());
        assert!(bytes.len() > 5_000, "{} is a real image", path.display());
    }
}
