//! `fit` end to end on a tiny synthetic corpus: it learns, it saves a usable model, a resumed
//! run equals a straight one, and misuse is refused with clear errors.
#![cfg(feature = "burn")]

mod fit_fixture;

use burn::module::{Module, ModuleVisitor, Param};
use burn::tensor::{Device, Tensor};
use std::path::Path;
use trainer::device::DeviceChoice;
use trainer::evaluate::EvalArgs;
use trainer::evaluation::EvalSplit;
use trainer::export::ExportArgs;
use trainer::inference::TrainedModel;
use trainer::model::Preset;
use trainer::sampler::LabelMode;
use trainer::training::checkpoint::load_network;
use trainer::training::schedule::{Keep, ScheduleKind, selection_score};
use trainer::training::{FitArgs, run};

fn args(cache: &Path, out: &Path, epochs: usize) -> FitArgs {
    FitArgs {
        cache: cache.to_path_buf(),
        out: out.to_path_buf(),
        device: DeviceChoice::Cpu,
        epochs,
        // Small batches, so that BatchNorm's running statistics (momentum 0.1) settle within
        // the few dozen steps of a test.
        batch_size: 4,
        examples_per_epoch: Some(48),
        seed: 3,
        lr_composer: 1e-3,
        lr_instruments: 1e-3,
        label_mode: LabelMode::Window,
        config: Preset::Compact,
        augment: "off".into(),
        validation_stacks: 8,
        validation_cache: None,
        lr_schedule: ScheduleKind::Constant,
        keep: Keep::Last,
        resume: false,
        jobs: Some(2),
    }
}

/// Every float parameter and running statistic of a model, in visiting order.
struct Values(Vec<f32>);

impl ModuleVisitor for Values {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        self.0.extend(param.val().into_data().iter::<f32>());
    }
}

fn weights(dir: &Path) -> Vec<f32> {
    let model = TrainedModel::load(dir, &Device::flex()).unwrap();
    let mut values = Values(Vec::new());
    model.networks.visit(&mut values);
    values.0
}

#[test]
fn training_learns_the_synthetic_composers_and_saves_a_usable_model() {
    let corpus = fit_fixture::two_composers();
    let out = tempfile::tempdir().unwrap();
    let summary = run(&args(&corpus.cache, out.path(), 4)).unwrap();
    let history = &summary.history;
    assert_eq!(history.len(), 4);
    let (first, last) = (&history[0], &history[3]);
    assert!(
        last.train_loss_composer < first.train_loss_composer,
        "composer loss falls: {history:#?}"
    );
    assert!(
        last.train_loss_instruments < first.train_loss_instruments,
        "instrument loss falls: {history:#?}"
    );
    let validation = last.validation.as_ref().unwrap();
    assert_eq!(
        validation.examples,
        2 * 8,
        "one validation piece per composer"
    );
    assert!(
        validation.composer_accuracy > 0.5,
        "better than chance (2 composers): {validation:?}"
    );
    for name in [
        "composer.bpk",
        "instruments.bpk",
        "model.json",
        "checkpoint.json",
        "curves-loss.png",
        "curves-validation.png",
    ] {
        assert!(out.path().join(name).is_file(), "{name} written");
    }

    let model = TrainedModel::load(out.path(), &Device::flex()).unwrap();
    assert_eq!(model.info.composers, vec!["Bach", "Mozart"]);
    assert_eq!(model.info.instruments, vec![1, 41, 43]);
    assert_eq!(model.info.epochs, 4);
    let cache = trainer::prepare::cache::CacheDir::new(&corpus.cache);
    let index = cache.read_index().unwrap();
    let selection = trainer::prepare::read_selection(&corpus.cache).unwrap();
    let examples: Vec<_> = index
        .recordings
        .iter()
        .map(|r| {
            let audio = cache.read_audio(r).unwrap();
            let mut rng = trainer::seed::rng_for(9, trainer::seed::Purpose::Evaluation, 0);
            let sampler = trainer::sampler::SamplerConfig {
                stack: 1,
                ..Default::default()
            };
            trainer::sampler::draw_example(r, &audio, &selection, &sampler, &mut rng).unwrap()
        })
        .collect();
    let predictions = model.predict(&examples).unwrap();
    assert_eq!(predictions.composer.len(), examples.len());
    for (p, i) in predictions.composer.iter().zip(&predictions.instruments) {
        assert_eq!((p.len(), i.len()), (2, 3));
        assert!((p.iter().sum::<f32>() - 1.0).abs() < 1e-4);
        assert!(i.iter().all(|&x| (0.0..=1.0).contains(&x)));
    }

    // `trainer eval` on the validation pieces (the fixture has no test split).
    let reports = tempfile::tempdir().unwrap();
    let report = trainer::evaluate::run(&EvalArgs {
        model: out.path().to_path_buf(),
        cache: corpus.cache.clone(),
        split: EvalSplit::Validation,
        stacks: 10,
        seed: 1,
        threshold: 0.5,
        batch_size: 8,
        device: DeviceChoice::Cpu,
        json: true,
        out: Some(reports.path().to_path_buf()),
    })
    .unwrap();
    assert_eq!((report.examples, report.recordings_count), (20, 2));
    assert_eq!(report.composer.confusion.total(), 20);
    assert_eq!(report.instruments.classes.len(), 3);
    assert!(
        report.composer.accuracy > 0.5,
        "the synthetic composers are told apart: {}",
        report.composer.accuracy
    );
    for name in ["report.json", "confusion_matrix.png", "roc_curves.png"] {
        assert!(reports.path().join(name).is_file(), "{name} written");
    }
    let again = trainer::evaluate::run(&EvalArgs {
        out: None,
        ..eval_args(out.path(), &corpus.cache)
    })
    .unwrap();
    assert_eq!(again, report, "evaluation is deterministic");

    // `trainer export`: the int8 file parses in the core and agrees with the float model.
    let file = reports.path().join("model.cmpcls");
    let summary = trainer::export::run(&ExportArgs {
        calibration: "percentile:99.99".parse().unwrap(),
        ..fit_fixture::export_args(out.path(), &corpus.cache, &file)
    })
    .unwrap();
    assert!(summary.folding_error < 1e-3, "{}", summary.folding_error);
    let bytes = std::fs::read(&file).unwrap();
    assert_eq!(bytes.len(), summary.file_bytes);
    let parsed = core_nostd::model::Model::parse(&bytes).unwrap();
    assert_eq!(parsed.composers(), &["Bach", "Mozart"]);
    assert_eq!(parsed.stack(), 1);
    let agreement = summary.agreement.unwrap();
    assert_eq!(agreement.examples, 20);
    assert!(
        agreement.composer_top1 >= 0.9,
        "int8 keeps the float decisions: {agreement:?}"
    );
    assert!((agreement.float[0] - report.composer.accuracy).abs() < 1e-9);
}

fn eval_args(model: &Path, cache: &Path) -> EvalArgs {
    EvalArgs {
        model: model.to_path_buf(),
        cache: cache.to_path_buf(),
        split: EvalSplit::Validation,
        stacks: 10,
        seed: 1,
        threshold: 0.5,
        batch_size: 8,
        device: DeviceChoice::Cpu,
        json: true,
        out: None,
    }
}

#[test]
fn a_resumed_run_ends_with_the_weights_of_a_straight_run() {
    let corpus = fit_fixture::two_composers();
    let straight = tempfile::tempdir().unwrap();
    run(&args(&corpus.cache, straight.path(), 2)).unwrap();

    let resumed = tempfile::tempdir().unwrap();
    run(&args(&corpus.cache, resumed.path(), 1)).unwrap();
    // A run killed while writing epoch 2's checkpoint leaves an uncommitted folder behind.
    let stale = resumed.path().join("checkpoints").join("epoch-0002");
    std::fs::create_dir_all(&stale).unwrap();
    std::fs::write(stale.join("composer.bpk"), b"half a file").unwrap();
    let again = run(&args(&corpus.cache, resumed.path(), 2));
    let error = format!("{:#}", again.expect_err("no --resume: refused"));
    assert!(error.contains("--resume"), "{error}");
    let mut other = args(&corpus.cache, resumed.path(), 2);
    other.resume = true;
    other.seed = 4;
    let error = format!("{:#}", run(&other).expect_err("other settings: refused"));
    assert!(error.contains("other settings"), "{error}");
    let mut resume = args(&corpus.cache, resumed.path(), 2);
    resume.resume = true;
    let summary = run(&resume).unwrap();
    assert_eq!(summary.resumed_after, Some(1));
    assert_eq!(summary.history.len(), 2);

    let (a, b) = (weights(straight.path()), weights(resumed.path()));
    assert_eq!(a.len(), b.len());
    let worst = a
        .iter()
        .zip(&b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0_f32, f32::max);
    assert_eq!(
        worst, 0.0,
        "bit-identical weights (largest difference {worst})"
    );
    let folders: Vec<_> = std::fs::read_dir(resumed.path().join("checkpoints"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(folders, vec!["epoch-0002"], "older checkpoints are removed");
}

#[cfg(not(feature = "cuda"))]
#[test]
fn asking_for_cuda_without_the_feature_is_an_error_not_a_panic() {
    let corpus_dir = tempfile::tempdir().unwrap();
    let out = tempfile::tempdir().unwrap();
    let mut cuda = args(corpus_dir.path(), out.path(), 1);
    cuda.device = DeviceChoice::Cuda;
    let error = format!("{:#}", run(&cuda).expect_err("an error"));
    assert!(error.contains("built without CUDA support"), "{error}");
}

#[test]
fn the_reference_config_trains_on_four_window_stacks() {
    let corpus = fit_fixture::two_composers();
    let out = tempfile::tempdir().unwrap();
    let mut reference = args(&corpus.cache, out.path(), 1);
    reference.config = Preset::Reference;
    reference.examples_per_epoch = Some(8);
    reference.validation_stacks = 2;
    reference.label_mode = LabelMode::Recording;
    let summary = run(&reference).unwrap();
    assert_eq!(summary.history.len(), 1);
    let model = TrainedModel::load(out.path(), &Device::flex()).unwrap();
    assert_eq!(model.info.config.stack, 4);
    assert_eq!(model.info.label_mode, LabelMode::Recording);
}

#[test]
fn a_run_killed_with_sigkill_resumes_to_the_weights_of_a_straight_run() {
    use std::process::{Command, Stdio};
    use std::time::{Duration, Instant};
    let corpus = fit_fixture::two_composers();
    let epochs = 4;
    let straight = tempfile::tempdir().unwrap();
    run(&args(&corpus.cache, straight.path(), epochs)).unwrap();

    // The same settings as `args`, through the binary, killed (SIGKILL) once the first
    // checkpoint is committed.
    let killed = tempfile::tempdir().unwrap();
    let a = args(&corpus.cache, killed.path(), epochs);
    let flags: Vec<String> = [
        "fit".to_owned(),
        a.cache.display().to_string(),
        "-o".into(),
        a.out.display().to_string(),
        "--config".into(),
        "compact".into(),
        "--epochs".into(),
        epochs.to_string(),
        "--batch-size".into(),
        a.batch_size.to_string(),
        "--examples-per-epoch".into(),
        "48".into(),
        "--seed".into(),
        a.seed.to_string(),
        "--lr-composer".into(),
        a.lr_composer.to_string(),
        "--lr-instruments".into(),
        a.lr_instruments.to_string(),
        "--validation-stacks".into(),
        a.validation_stacks.to_string(),
        "--jobs".into(),
        "2".into(),
    ]
    .into();
    let mut child = Command::new(env!("CARGO_BIN_EXE_trainer"))
        .args(&flags)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(600);
    while !killed.path().join("checkpoint.json").exists() {
        assert!(
            child.try_wait().unwrap().is_none(),
            "the run ended before its first checkpoint"
        );
        assert!(Instant::now() < deadline, "no checkpoint within 10 minutes");
        std::thread::sleep(Duration::from_millis(5));
    }
    child.kill().unwrap(); // SIGKILL on Unix.
    let status = child.wait().unwrap();
    assert!(
        !status.success(),
        "killed mid-run, not finished: {status:?}"
    );

    let mut resume = args(&corpus.cache, killed.path(), epochs);
    resume.resume = true;
    let summary = run(&resume).unwrap();
    let resumed_after = summary.resumed_after.expect("resumed from a checkpoint");
    assert!(
        (1..epochs).contains(&resumed_after),
        "at most the epoch in progress is lost: resumed after {resumed_after}"
    );
    assert_eq!(summary.history.len(), epochs);
    let (x, y) = (weights(straight.path()), weights(killed.path()));
    assert_eq!(x, y, "bit-identical weights after a SIGKILL and --resume");
}

#[test]
fn keep_best_with_a_cosine_schedule_keeps_the_best_epoch_judged_on_other_sounds() {
    let corpus = fit_fixture::two_composers();
    let other_sounds = fit_fixture::two_composers_other_timbre();
    let out = tempfile::tempdir().unwrap();
    let mut best = args(&corpus.cache, out.path(), 5);
    best.validation_cache = Some(other_sounds.cache.clone());
    best.lr_schedule = ScheduleKind::Cosine;
    best.keep = Keep::Best;
    let summary = run(&best).unwrap();
    let history = &summary.history;
    let scores: Vec<f64> = history
        .iter()
        .map(|m| selection_score(m).expect("validated every epoch"))
        .collect();
    let top = scores.iter().copied().fold(f64::MIN, f64::max);
    let expected = history[scores.iter().position(|&s| s == top).unwrap()].epoch;
    assert_ne!(
        expected, 5,
        "this seed's run peaks before its end (the case under test): {scores:?}"
    );
    let model = TrainedModel::load(out.path(), &Device::flex()).unwrap();
    assert_eq!(model.info.kept_epoch, Some(expected), "{scores:?}");
    assert_eq!(model.info.epochs, 5);
    // The model is the kept epoch's checkpoint, which stays beside the last one.
    let kept = out
        .path()
        .join("checkpoints")
        .join(format!("epoch-{expected:04}"));
    let saved = weights(out.path());
    let mut model = model;
    load_network(&mut model.networks.composer, &kept.join("composer.bpk")).unwrap();
    load_network(
        &mut model.networks.instruments,
        &kept.join("instruments.bpk"),
    )
    .unwrap();
    let mut from_checkpoint = Values(Vec::new());
    model.networks.visit(&mut from_checkpoint);
    assert!(
        saved == from_checkpoint.0,
        "the saved networks are epoch {expected}'s checkpoint"
    );
    let last = out.path().join("checkpoints").join("epoch-0005");
    load_network(&mut model.networks.composer, &last.join("composer.bpk")).unwrap();
    let mut from_last = Values(Vec::new());
    model.networks.visit(&mut from_last);
    assert!(saved != from_last.0, "not the last epoch's networks");
    let mut folders: Vec<_> = std::fs::read_dir(out.path().join("checkpoints"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    folders.sort();
    assert_eq!(
        folders,
        vec![format!("epoch-{expected:04}"), "epoch-0005".into()]
    );

    // The validation set came from the other cache: its figures differ from a run validated
    // on the training cache's own recordings (same training, same seed).
    let own = tempfile::tempdir().unwrap();
    let mut own_args = best.clone();
    own_args.out = own.path().to_path_buf();
    own_args.validation_cache = None;
    let own_summary = run(&own_args).unwrap();
    assert_eq!(
        own_summary.history[0].train_loss_composer, history[0].train_loss_composer,
        "training does not depend on the validation source"
    );
    assert_ne!(
        own_summary.history.last().unwrap().validation,
        history.last().unwrap().validation,
        "validated on other sounds"
    );

    // A resumed run must keep the schedule: another --epochs changes a cosine schedule.
    let mut longer = best.clone();
    longer.epochs = 6;
    longer.resume = true;
    let error = format!("{:#}", run(&longer).expect_err("other schedule: refused"));
    assert!(error.contains("other settings"), "{error}");
}

#[test]
fn a_validation_cache_with_other_classes_is_refused_by_name() {
    let corpus = fit_fixture::two_composers();
    let harpsichord = fit_fixture::two_composers_on_harpsichord();
    let out = tempfile::tempdir().unwrap();
    let mut mismatched = args(&corpus.cache, out.path(), 1);
    mismatched.validation_cache = Some(harpsichord.cache.clone());
    let error = format!(
        "{:#}",
        run(&mismatched).expect_err("other classes: refused")
    );
    assert!(
        error.contains("--validation-cache") && error.contains("classes differ"),
        "{error}"
    );
    assert!(
        error.contains(&harpsichord.cache.display().to_string()),
        "{error}"
    );
}
