//! Tests of [`evaluate`] end to end, the rendering and the plots; the metric modules test
//! their own formulas.

use super::*;
use std::path::Path;

fn names(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-12
}

/// One example with a confident composer guess `composer_pred` and instrument scores that are
/// 0.9 for predicted flags and 0.1 otherwise.
fn example(
    recording: u32,
    truth: usize,
    guess: usize,
    k: usize,
    flags: &[u8],
    pred: &[u8],
) -> Prediction {
    let mut composer_scores = vec![0.1 / k.max(2) as f32; k];
    composer_scores[guess] = 0.8;
    Prediction {
        recording,
        composer_true: truth,
        composer_scores,
        instruments_true: flags.iter().map(|&f| f == 1).collect(),
        instrument_scores: pred
            .iter()
            .map(|&f| if f == 1 { 0.9 } else { 0.1 })
            .collect(),
    }
}

/// scikit-learn's `classification_report` doc example: y_true = [0, 1, 2, 2, 2],
/// y_pred = [0, 0, 2, 2, 1], one instrument always right.
fn doc_example() -> (Vec<String>, Vec<String>, Vec<Prediction>) {
    let composers = names(&["class 0", "class 1", "class 2"]);
    let instruments = names(&["piano"]);
    let pairs = [(0, 0), (1, 0), (2, 2), (2, 2), (2, 1)];
    let predictions = pairs
        .iter()
        .enumerate()
        .map(|(i, &(t, p))| example(i as u32, t, p, 3, &[1], &[1]))
        .collect();
    (composers, instruments, predictions)
}

#[test]
fn perfect_predictions_score_one_everywhere() {
    let composers = names(&["Bach", "Mozart"]);
    let instruments = names(&["piano", "violin", "cello"]);
    let predictions = vec![
        example(1, 0, 0, 2, &[1, 0, 0], &[1, 0, 0]),
        example(1, 0, 0, 2, &[1, 0, 0], &[1, 0, 0]),
        example(2, 1, 1, 2, &[0, 1, 1], &[0, 1, 1]),
        example(3, 1, 1, 2, &[1, 1, 0], &[1, 1, 0]),
    ];
    let r = evaluate(&EvalInput {
        composers: &composers,
        instruments: &instruments,
        predictions: &predictions,
        threshold: 0.5,
    })
    .unwrap();
    assert_eq!(r.composer.accuracy, 1.0);
    for c in r.composer.classes.iter().chain(&r.instruments.classes) {
        assert_eq!((c.precision, c.recall, c.f1), (1.0, 1.0, 1.0), "{}", c.name);
    }
    let i = &r.instruments;
    for a in [
        r.composer.macro_avg,
        r.composer.weighted_avg,
        i.micro_avg,
        i.macro_avg,
        i.weighted_avg,
        i.samples_avg,
    ] {
        assert_eq!((a.precision, a.recall, a.f1), (1.0, 1.0, 1.0));
    }
    assert_eq!(
        (i.hamming_accuracy, i.subset_accuracy, r.exact_match),
        (1.0, 1.0, 1.0)
    );
    assert!(i.roc.iter().all(|x| x.auc == Some(1.0)));
    assert_eq!(i.macro_auc, Some(1.0));
    assert_eq!(r.composer.confusion.counts, vec![vec![2, 0], vec![0, 2]]);
    let rec = &r.recordings;
    assert_eq!(r.recordings_count, 3);
    assert_eq!(
        (
            rec.composer_accuracy,
            rec.instrument_samples_avg.f1,
            rec.exact_match
        ),
        (1.0, 1.0, 1.0)
    );
}

#[test]
fn hand_worked_three_class_composer_case() {
    // y_true = [0, 1, 2, 2, 2], y_pred = [0, 0, 2, 2, 1] (scikit-learn's classification_report
    // doc example). Confusion [[1,0,0],[1,0,0],[0,1,2]].
    // class 0: tp 1, predicted 2, true 1 → P 1/2, R 1, F1 2/3.
    // class 1: tp 0, predicted 1, true 1 → 0, 0, 0.
    // class 2: tp 2, predicted 2, true 3 → P 1, R 2/3, F1 4/5.
    // accuracy 3/5; macro P 1/2, R 5/9, F1 22/45; weighted (1, 1, 3)/5:
    // P 7/10, R 3/5, F1 (2/3 + 12/5)/5 = 46/75.
    let (composers, instruments, predictions) = doc_example();
    let r = evaluate(&EvalInput {
        composers: &composers,
        instruments: &instruments,
        predictions: &predictions,
        threshold: 0.5,
    })
    .unwrap();
    let c = &r.composer;
    assert_eq!(
        c.confusion.counts,
        vec![vec![1, 0, 0], vec![1, 0, 0], vec![0, 1, 2]]
    );
    assert!(close(c.accuracy, 0.6));
    let want = [
        (0.5, 1.0, 2.0 / 3.0, 1),
        (0.0, 0.0, 0.0, 1),
        (1.0, 2.0 / 3.0, 0.8, 3),
    ];
    for (got, want) in c.classes.iter().zip(want) {
        assert!(close(got.precision, want.0) && close(got.recall, want.1));
        assert!(close(got.f1, want.2) && got.support == want.3, "{got:?}");
    }
    let m = c.macro_avg;
    assert!(close(m.precision, 0.5) && close(m.recall, 5.0 / 9.0) && close(m.f1, 22.0 / 45.0));
    let w = c.weighted_avg;
    assert!(close(w.precision, 0.7) && close(w.recall, 0.6) && close(w.f1, 46.0 / 75.0));
    assert_eq!((m.support, w.support, c.examples), (5, 5, 5));
    // The instrument is always right, so exact match = composer accuracy.
    assert!(close(r.exact_match, 0.6));
}

#[test]
fn composer_table_is_scikit_learns_layout() {
    // The exact string scikit-learn 1.9 prints for the doc example.
    let want = "              precision    recall  f1-score   support\n\n     class 0       0.50      1.00      0.67         1\n     class 1       0.00      0.00      0.00         1\n     class 2       1.00      0.67      0.80         3\n\n    accuracy                           0.60         5\n   macro avg       0.50      0.56      0.49         5\nweighted avg       0.70      0.60      0.61         5\n";
    let (composers, instruments, predictions) = doc_example();
    let r = evaluate(&EvalInput {
        composers: &composers,
        instruments: &instruments,
        predictions: &predictions,
        threshold: 0.5,
    })
    .unwrap();
    let c = &r.composer;
    let got = table::classification_table(
        &c.classes,
        Some((c.accuracy, c.examples)),
        &[("macro", c.macro_avg), ("weighted", c.weighted_avg)],
    );
    assert_eq!(got, want);
    let text = r.to_string();
    assert!(text.contains(want));
    assert!(text.contains("Composer confusion matrix"));
    assert!(
        text.contains("class 2        0        1        2"),
        "{text}"
    );
}

#[test]
fn hand_worked_multilabel_case_and_exact_match() {
    // Instruments as in multilabel's test (scikit-learn 1.9 prints the table below for it);
    // composers: examples 0 and 3 right, 1 and 2 wrong.
    //   composer ok   instruments truth / predicted   all flags ok   exact
    //   yes           101 / 100                        no             no
    //   no            000 / 000                        yes            no
    //   no            010 / 000                        no             no
    //   yes           110 / 111                        no             no
    // Exact match 0/4; a fifth example with everything right makes it 1/5.
    let composers = names(&["x", "y"]);
    let instruments = names(&["a", "b", "c"]);
    let mut predictions = vec![
        example(0, 0, 0, 2, &[1, 0, 1], &[1, 0, 0]),
        example(1, 0, 1, 2, &[0, 0, 0], &[0, 0, 0]),
        example(2, 1, 0, 2, &[0, 1, 0], &[0, 0, 0]),
        example(3, 1, 1, 2, &[1, 1, 0], &[1, 1, 1]),
    ];
    let input = |p: &[Prediction]| {
        evaluate(&EvalInput {
            composers: &composers,
            instruments: &instruments,
            predictions: p,
            threshold: 0.5,
        })
        .unwrap()
    };
    let r = input(&predictions);
    assert_eq!(r.exact_match, 0.0);
    let i = &r.instruments;
    assert!(close(i.samples_avg.f1, 11.0 / 30.0) && close(i.hamming_accuracy, 0.75));
    let want = "              precision    recall  f1-score   support\n\n           a       1.00      1.00      1.00         2\n           b       1.00      0.50      0.67         2\n           c       0.00      0.00      0.00         1\n\n   micro avg       0.75      0.60      0.67         5\n   macro avg       0.67      0.50      0.56         5\nweighted avg       0.80      0.60      0.67         5\n samples avg       0.42      0.38      0.37         5\n";
    assert!(r.to_string().contains(want), "{r}");
    predictions.push(example(4, 1, 1, 2, &[0, 0, 1], &[0, 0, 1]));
    assert!(close(input(&predictions).exact_match, 0.2));
}

#[test]
fn recordings_vote_by_mean_scores() {
    // Recording 7 (true composer 0, instruments [1, 0]): two examples.
    //   composer scores [0.4, 0.6] and [0.9, 0.1] → mean [0.65, 0.35] → composer 0 (right),
    //   although one example alone says 1.
    //   instrument scores [0.6, 0.2] and [0.3, 0.7] → mean [0.45, 0.45] → no flags (wrong).
    // Recording 3 (true composer 1, instruments [0, 1]): one example, scores [0.7, 0.3] →
    //   composer 0 (wrong); instruments [0.1, 0.5] → [0, 1] (right, 0.5 >= 0.5).
    // Recording-level: composer accuracy 1/2; exact match 0/2; samples F1: rec 3 → 1,
    // rec 7 → 0 (one true, none predicted) → 1/2.
    let composers = names(&["Bach", "Haydn"]);
    let instruments = names(&["organ", "flute"]);
    let p = |recording, composer_true, c: [f32; 2], t: [bool; 2], s: [f32; 2]| Prediction {
        recording,
        composer_true,
        composer_scores: c.to_vec(),
        instruments_true: t.to_vec(),
        instrument_scores: s.to_vec(),
    };
    let predictions = vec![
        p(7, 0, [0.4, 0.6], [true, false], [0.6, 0.2]),
        p(3, 1, [0.7, 0.3], [false, true], [0.1, 0.5]),
        p(7, 0, [0.9, 0.1], [true, false], [0.3, 0.7]),
    ];
    let r = evaluate(&EvalInput {
        composers: &composers,
        instruments: &instruments,
        predictions: &predictions,
        threshold: 0.5,
    })
    .unwrap();
    let rec = &r.recordings;
    assert_eq!(r.recordings_count, 2);
    let (first, second) = (&rec.recordings[0], &rec.recordings[1]);
    assert_eq!((first.recording, first.examples), (3, 1));
    assert_eq!((second.recording, second.examples), (7, 2));
    assert_eq!(first.composer_predicted_name, "Bach");
    assert!(!first.composer_correct && first.instruments_correct);
    assert_eq!(first.instruments_predicted, vec!["flute".to_string()]);
    assert_eq!((second.composer_predicted, second.composer_true), (0, 0));
    assert!(second.composer_correct && !second.instruments_correct);
    assert!((second.composer_score - 0.65).abs() < 1e-6);
    assert!(second.instruments_predicted.is_empty());
    assert_eq!(second.instruments_true, vec!["organ".to_string()]);
    assert_eq!(rec.composer_accuracy, 0.5);
    assert_eq!(rec.exact_match, 0.0);
    assert_eq!(rec.instrument_samples_avg.f1, 0.5);
    // Hamming: rec 3 both right, rec 7 organ wrong, flute right → 3/4.
    assert_eq!(rec.instrument_hamming_accuracy, 0.75);
    // Example level for contrast: composer right only in the third example.
    assert!(close(r.composer.accuracy, 1.0 / 3.0));
    assert!(r.to_string().contains("true Haydn, predicted Bach"));
}

#[test]
fn a_recordings_truth_is_every_instrument_true_in_one_of_its_examples() {
    // Per-window labels: the organ sounds in the first example's windows, the flute in the
    // second's. The recording's truth is both; pooled scores [0.6, 0.6] flag both: right.
    let composers = names(&["Bach"]);
    let instruments = names(&["organ", "flute"]);
    let p = |t: [bool; 2], s: [f32; 2]| Prediction {
        recording: 5,
        composer_true: 0,
        composer_scores: vec![1.0],
        instruments_true: t.to_vec(),
        instrument_scores: s.to_vec(),
    };
    let predictions = vec![p([true, false], [0.9, 0.3]), p([false, true], [0.3, 0.9])];
    let r = evaluate(&EvalInput {
        composers: &composers,
        instruments: &instruments,
        predictions: &predictions,
        threshold: 0.5,
    })
    .unwrap();
    let verdict = &r.recordings.recordings[0];
    assert_eq!(verdict.instruments_true, names(&["organ", "flute"]));
    assert_eq!(verdict.instruments_predicted, names(&["organ", "flute"]));
    assert!(verdict.instruments_correct);
    assert_eq!(r.recordings.exact_match, 1.0);
    // Example level: each example is scored against its own windows' labels.
    assert_eq!(r.exact_match, 1.0);
}

#[test]
fn empty_predictions_give_a_report_of_zeros() {
    let composers = names(&["Bach", "Mozart"]);
    let instruments = names(&["piano"]);
    let r = evaluate(&EvalInput {
        composers: &composers,
        instruments: &instruments,
        predictions: &[],
        threshold: 0.5,
    })
    .unwrap();
    assert_eq!(
        (r.examples, r.recordings_count, r.composer.accuracy),
        (0, 0, 0.0)
    );
    assert_eq!(r.composer.macro_avg, AverageScores::default());
    assert_eq!(r.instruments.samples_avg, AverageScores::default());
    assert_eq!((r.instruments.hamming_accuracy, r.exact_match), (0.0, 0.0));
    assert_eq!(
        (r.instruments.roc[0].auc, r.instruments.macro_auc),
        (None, None)
    );
    assert!(r.recordings.recordings.is_empty());
    assert!(!r.to_string().is_empty());
    // Not even class names.
    let r = evaluate(&EvalInput {
        composers: &[],
        instruments: &[],
        predictions: &[],
        threshold: 0.5,
    })
    .unwrap();
    assert!(r.composer.classes.is_empty() && r.instruments.roc.is_empty());
    assert!(!r.to_string().is_empty());
}

#[test]
fn bad_input_is_a_typed_error() {
    let composers = names(&["Bach", "Mozart"]);
    let instruments = names(&["piano"]);
    let good = example(1, 0, 0, 2, &[1], &[1]);
    let run = |p: Prediction, threshold: f32| {
        let predictions = vec![good.clone(), p];
        evaluate(&EvalInput {
            composers: &composers,
            instruments: &instruments,
            predictions: &predictions,
            threshold,
        })
    };
    let mut p = good.clone();
    p.composer_scores.push(0.0);
    let want = ReportError::ComposerScores {
        index: 1,
        expected: 2,
        found: 3,
    };
    assert_eq!(run(p, 0.5), Err(want));
    let mut p = good.clone();
    p.instruments_true.clear();
    assert!(matches!(
        run(p, 0.5),
        Err(ReportError::InstrumentFlags { index: 1, .. })
    ));
    let mut p = good.clone();
    p.instrument_scores.push(0.3);
    assert!(matches!(
        run(p, 0.5),
        Err(ReportError::InstrumentScores { found: 2, .. })
    ));
    let mut p = good.clone();
    p.recording = 2;
    p.composer_true = 2;
    assert!(matches!(
        run(p, 0.5),
        Err(ReportError::ComposerOutOfRange { class: 2, .. })
    ));
    let mut p = good.clone();
    p.instrument_scores[0] = f32::NAN;
    assert_eq!(run(p, 0.5), Err(ReportError::NonFiniteScore { index: 1 }));
    let mut p = good.clone();
    p.composer_true = 1;
    assert_eq!(
        run(p, 0.5),
        Err(ReportError::InconsistentRecording {
            recording: 1,
            index: 1
        })
    );
    assert!(matches!(
        run(good.clone(), f32::NAN),
        Err(ReportError::Threshold(_))
    ));
    assert!(run(good.clone(), 0.5).is_ok());
}

#[test]
fn json_holds_the_key_fields() {
    let (composers, instruments, predictions) = doc_example();
    let r = evaluate(&EvalInput {
        composers: &composers,
        instruments: &instruments,
        predictions: &predictions,
        threshold: 0.5,
    })
    .unwrap();
    let json: serde_json::Value =
        serde_json::from_str(&serde_json::to_string(&r).unwrap()).unwrap();
    assert_eq!(json["composer"]["accuracy"], 0.6);
    assert_eq!(json["composer"]["classes"][2]["name"], "class 2");
    assert_eq!(json["composer"]["classes"][2]["f1"], 0.8);
    assert_eq!(json["composer"]["macro_avg"]["precision"], 0.5);
    assert_eq!(
        json["composer"]["confusion"]["counts"][2],
        serde_json::json!([0, 1, 2])
    );
    assert_eq!(json["instruments"]["samples_avg"]["f1"], 1.0);
    assert_eq!(json["instruments"]["hamming_accuracy"], 1.0);
    // The piano is always present: AUC undefined → null.
    assert!(json["instruments"]["roc"][0]["auc"].is_null());
    assert_eq!(json["exact_match"], 0.6);
    assert_eq!(
        json["recordings"]["recordings"][1]["composer_predicted_name"],
        "class 0"
    );
    for key in [
        "micro_avg",
        "weighted_avg",
        "subset_accuracy",
        "macro_auc",
        "threshold",
    ] {
        assert!(json["instruments"].get(key).is_some(), "{key}");
    }
}

/// Files in `dir` whose name marks a temporary.
fn leftovers(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".tmp"))
        .collect()
}

#[test]
fn plots_are_written() {
    let composers = names(&["Bach", "Beethoven", "Brahms", "Mozart"]);
    let instruments = names(&["piano", "violin", "cello", "organ"]);
    let mut predictions = Vec::new();
    for i in 0..40_u32 {
        let truth = (i % 4) as usize;
        let guess = if i % 5 == 0 { (truth + 1) % 4 } else { truth };
        let flags = [(i % 2) as u8, (i % 3 == 0) as u8, (i % 5 < 2) as u8, 1];
        let mut p = example(i, truth, guess, 4, &flags, &flags);
        // Imperfect, tied scores so the curves are not trivial.
        p.instrument_scores = vec![
            (i % 7) as f32 / 7.0,
            if flags[1] == 1 {
                0.6
            } else {
                (i % 3) as f32 / 4.0
            },
            (i % 4) as f32 / 4.0,
            0.9,
        ];
        predictions.push(p);
    }
    let r = evaluate(&EvalInput {
        composers: &composers,
        instruments: &instruments,
        predictions: &predictions,
        threshold: 0.5,
    })
    .unwrap();
    let dir = std::env::temp_dir().join(format!("report-plots-{}", std::process::id()));
    let written = write_plots(&r, &dir).unwrap();
    assert_eq!(
        written,
        vec![dir.join("confusion_matrix.png"), dir.join("roc_curves.png")]
    );
    for path in &written {
        let bytes = std::fs::read(path).unwrap();
        assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "{}", path.display());
        assert!(
            bytes.len() > 10_000,
            "{}: {} bytes",
            path.display(),
            bytes.len()
        );
    }
    assert!(leftovers(&dir).is_empty());
    // An empty report draws too.
    let empty = evaluate(&EvalInput {
        composers: &[],
        instruments: &[],
        predictions: &[],
        threshold: 0.5,
    })
    .unwrap();
    let empty_dir = dir.join("empty");
    assert_eq!(write_plots(&empty, &empty_dir).unwrap().len(), 2);
    assert!(leftovers(&empty_dir).is_empty());
    std::fs::remove_dir_all(&dir).unwrap();
}
