//! `trainer import` on a PyTorch fixture (tests/fixtures/pytorch, made once with PyTorch 2.11 by
//! its make_fixture.py): the imported networks give PyTorch's logits, the folder evaluates and
//! exports like a trained one, and mismatched or unreadable files are refused with clear errors.
#![cfg(feature = "burn")]

mod fit_fixture;

use burn::tensor::{Device, Tensor, TensorData};
use std::path::{Path, PathBuf};
use trainer::import::{ImportArgs, SourceTensor, plan, run};
use trainer::inference::TrainedModel;
use trainer::model::{ModelConfig, Preset};
use trainer::sampler::LabelMode;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/pytorch")
        .join(name)
}

fn import_args(cache: &Path, out: &Path) -> ImportArgs {
    ImportArgs {
        composer: fixture("composer.pt"),
        instruments: fixture("instruments.pt"),
        cache: cache.to_path_buf(),
        preset: Preset::Reference,
        config: Some(fixture("config.json")),
        key: None,
        label_mode: LabelMode::Window,
        out: out.to_path_buf(),
    }
}

/// The fixture's inputs, `x[n][0][h][w] = 0.9 sin(0.11 h + 0.037 w + 1.3 n)` (make_fixture.py).
fn fixture_input(device: &Device) -> Tensor<4> {
    let mut values = Vec::with_capacity(2 * 128 * 312);
    for n in 0..2 {
        for h in 0..128 {
            for w in 0..312 {
                values.push(
                    (0.9 * (0.11 * h as f64 + 0.037 * w as f64 + 1.3 * n as f64).sin()) as f32,
                );
            }
        }
    }
    Tensor::from_data(TensorData::new(values, [2, 1, 128, 312]), device)
}

fn expected_logits(name: &str) -> Vec<Vec<f32>> {
    let text = std::fs::read_to_string(fixture("expected.json")).unwrap();
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    serde_json::from_value(json[name].clone()).unwrap()
}

fn assert_close(got: Tensor<2>, expected: &[Vec<f32>], what: &str) {
    let got: Vec<f32> = got.into_data().iter::<f32>().collect();
    let expected: Vec<f32> = expected.concat();
    assert_eq!(got.len(), expected.len(), "{what}");
    for (g, e) in got.iter().zip(&expected) {
        assert!(
            (g - e).abs() < 1e-4,
            "{what}: Burn {got:?} vs PyTorch {expected:?}"
        );
    }
}

#[test]
fn imported_networks_give_pytorchs_logits_and_the_folder_exports() {
    let corpus = fit_fixture::two_composers();
    let out = tempfile::tempdir().unwrap();
    let written = run(&import_args(&corpus.cache, out.path())).unwrap();
    assert_eq!(written.len(), 3);

    let device = Device::flex();
    let model = TrainedModel::load(out.path(), &device).unwrap();
    assert_eq!(model.info.composers, ["Bach", "Mozart"]);
    assert_eq!(model.info.instruments, [1, 41, 43]);
    assert_eq!(model.info.epochs, 0);
    assert_eq!(
        model.info.imported_from.as_deref(),
        Some(&[fixture("composer.pt"), fixture("instruments.pt")][..])
    );
    // The composer file has the Burn names (reference_cnn.Classifier), the instrument file an
    // nn.Sequential's: both load, BatchNorm's randomized statistics included.
    let input = fixture_input(&device);
    assert_close(
        model.networks.composer.forward(input.clone()),
        &expected_logits("composer_logits"),
        "composer",
    );
    assert_close(
        model.networks.instruments.forward(input),
        &expected_logits("instrument_logits"),
        "instruments",
    );

    // Quantized and exported like a trained model: the core parses the file.
    let file = out.path().join("model.cmpcls");
    let summary =
        trainer::export::run(&fit_fixture::export_args(out.path(), &corpus.cache, &file)).unwrap();
    assert!(summary.folding_error < 1e-3, "{}", summary.folding_error);
    let bytes = std::fs::read(&file).unwrap();
    let parsed = core_nostd::model::Model::parse(&bytes).unwrap();
    assert_eq!(parsed.composers(), &["Bach", "Mozart"]);
}

fn tensor(key: &str, shape: &[usize]) -> SourceTensor {
    SourceTensor {
        key: key.into(),
        shape: shape.to_vec(),
    }
}

/// The reference network's state_dict as `nn.Sequential` numbers it: conv, BN, ReLU (no
/// tensors) and, in pooled blocks, a pool (no tensors), then Flatten and Linear.
fn reference_sequential(classes: usize) -> Vec<SourceTensor> {
    let mut tensors = Vec::new();
    let (mut index, mut channels) = (0, 4);
    for (out, kernel, pool) in [
        (16, [3, 7], false),
        (16, [3, 5], false),
        (32, [3, 3], true),
        (64, [3, 3], true),
        (128, [3, 3], true),
    ] {
        tensors.push(tensor(
            &format!("{index}.weight"),
            &[out, channels, kernel[0], kernel[1]],
        ));
        tensors.push(tensor(&format!("{index}.bias"), &[out]));
        for name in ["weight", "bias", "running_mean", "running_var"] {
            tensors.push(tensor(&format!("{}.{name}", index + 1), &[out]));
        }
        tensors.push(tensor(&format!("{}.num_batches_tracked", index + 1), &[]));
        index += if pool { 4 } else { 3 };
        channels = out;
    }
    tensors.push(tensor(&format!("{}.weight", index + 1), &[classes, 9216]));
    tensors.push(tensor(&format!("{}.bias", index + 1), &[classes]));
    tensors.sort_by(|a, b| a.key.cmp(&b.key)); // as a map would give them: "10.x" before "2.x"
    tensors
}

#[test]
fn sequential_numbering_maps_in_module_order_onto_the_reference_network() {
    let config = ModelConfig::reference();
    let mapping = plan(&reference_sequential(7), &config, 7).unwrap();
    let find = |key: &str| {
        mapping
            .iter()
            .find(|(from, _)| from == key)
            .map(|(_, to)| to.as_str())
    };
    assert_eq!(find("0.weight"), Some("blocks.0.conv.weight"));
    assert_eq!(find("4.running_var"), Some("blocks.1.norm.running_var"));
    assert_eq!(find("6.weight"), Some("blocks.2.conv.weight"));
    assert_eq!(
        find("10.bias"),
        Some("blocks.3.conv.bias"),
        "10 follows 7, not 1"
    );
    assert_eq!(find("14.weight"), Some("blocks.4.conv.weight"));
    assert_eq!(find("19.weight"), Some("head.weight"));
    assert_eq!(
        find("1.num_batches_tracked"),
        None,
        "not a parameter of the Burn model"
    );
    assert_eq!(mapping.len(), 5 * 6 + 2);
}

#[test]
fn shapes_and_structures_that_do_not_match_are_refused_naming_the_key() {
    let config = ModelConfig::reference();
    let message = |tensors: &[SourceTensor], classes| {
        format!("{:#}", plan(tensors, &config, classes).unwrap_err())
    };

    let wrong_classes = message(&reference_sequential(7), 10);
    assert!(
        wrong_classes
            .contains("`19.weight` has shape [7, 9216], the configuration needs [10, 9216]"),
        "{wrong_classes}"
    );

    // The notebook's 8192-input head (unpadded maps) does not fit the padded configuration.
    let mut narrow = reference_sequential(7);
    narrow
        .iter_mut()
        .find(|t| t.key == "19.weight")
        .unwrap()
        .shape = vec![7, 8192];
    assert!(message(&narrow, 7).contains("[7, 8192]"));

    let mut no_bias = reference_sequential(7);
    no_bias.retain(|t| t.key != "3.bias");
    assert!(
        message(&no_bias, 7).contains("`3.bias` is missing"),
        "{}",
        message(&no_bias, 7)
    );

    let mut no_norm = reference_sequential(7);
    no_norm.retain(|t| !t.key.starts_with("1."));
    let structure = message(&no_norm, 7);
    assert!(structure.contains("[conv, conv, norm"), "{structure}");

    let odd = [tensor("embedding.weight", &[10])];
    assert!(message(&odd, 7).contains("module `embedding`"));
}

#[test]
fn unreadable_or_mismatched_files_are_named_in_the_error() {
    let corpus = fit_fixture::two_composers();
    let out = tempfile::tempdir().unwrap();

    let garbage = out.path().join("garbage.pt");
    std::fs::write(&garbage, b"not a pickle").unwrap();
    let error = format!(
        "{:#}",
        run(&ImportArgs {
            composer: garbage.clone(),
            ..import_args(&corpus.cache, out.path())
        })
        .unwrap_err()
    );
    assert!(
        error.contains("garbage.pt") && error.contains("not a readable PyTorch state_dict"),
        "{error}"
    );

    // The tiny fixture is not the reference network.
    let error = format!(
        "{:#}",
        run(&ImportArgs {
            config: None,
            ..import_args(&corpus.cache, out.path())
        })
        .unwrap_err()
    );
    assert!(
        error.contains("composer.pt") && error.contains("5 blocks"),
        "{error}"
    );
    assert!(
        !out.path().join("model.json").exists(),
        "nothing written on failure"
    );
}
