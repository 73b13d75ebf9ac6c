//! `trainer import`: PyTorch `state_dict`s of the trainer's CNN → a model folder (the layout
//! `trainer fit` writes, see [`crate::inference`]), so a network trained with PyTorch can be
//! evaluated (`trainer eval`), quantized and exported (`trainer export`) here.
//!
//! # Which `state_dict`s
//! The PyTorch network must be this crate's architecture (`crate::model`): blocks of
//! `Conv2d → BatchNorm2d → ReLU → (MaxPool2d 2)`, each convolution with a bias and padded by
//! `kernel // 2`, then `Linear` over the channel-major flatten. `trainer/pytorch/reference_cnn.py`
//! defines it in PyTorch. Files are read with Burn's `PytorchStore` (burn-store), which also
//! transposes the linear weight and renames BatchNorm's `weight`/`bias` to `gamma`/`beta`.
//!
//! Tensors are matched **by structure, not by name**: the keys are grouped by module (the key
//! without its last segment), the modules taken in natural order (numeric segments compared as
//! numbers, so `10.weight` follows `9.weight`, which is module order for an `nn.Sequential` or
//! `nn.ModuleList`), and the sequence must read `conv, norm` once per configured block, then one
//! linear layer. So both `reference_cnn.Classifier`'s keys (`blocks.0.conv.weight`, …, `head.bias`)
//! and a plain `nn.Sequential`'s (`0.weight`, `1.running_mean`, …) load. Every shape is checked
//! against the configuration before anything is applied; a mismatch names the file, the key,
//! and both shapes. What cannot be checked from a `state_dict`: that BatchNorm came before the
//! ReLU (a `conv → ReLU → BN` network has the same tensors), hence the test on logits.

use crate::inference::{MODEL_FORMAT_VERSION, ModelInfo, save_trained};
use crate::model::{ModelConfig, Networks, Preset};
use crate::sampler::LabelMode;
use anyhow::{Context, bail};
use burn::store::pytorch_reader::PytorchReader;
use burn::store::{KeyRemapper, ModuleSnapshot, PytorchStore};
use burn::tensor::Device;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Options of `trainer import`.
#[derive(Clone, Debug, clap::Args)]
pub struct ImportArgs {
    /// The composer network's `state_dict` (`torch.save(net.state_dict(), ...)`, .pt/.pth).
    #[arg(long)]
    pub composer: PathBuf,
    /// The instrument network's `state_dict`.
    #[arg(long)]
    pub instruments: PathBuf,
    /// The prepared cache the networks were trained on: its selection.json gives the class
    /// names in output order (composers sorted by name, instruments by GM program).
    #[arg(long)]
    pub cache: PathBuf,
    /// The architecture, when it is one of the presets.
    #[arg(long, value_enum, default_value_t = Preset::Reference)]
    pub preset: Preset,
    /// The architecture as JSON (the `config` object of a model.json), instead of `--preset`.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// The key under which the files hold the `state_dict`, when they hold more (for example
    /// `model_state_dict` in a training checkpoint).
    #[arg(long)]
    pub key: Option<String>,
    /// The instrument labels the network was trained on (recorded in model.json).
    #[arg(long, value_enum, default_value_t = LabelMode::Window)]
    pub label_mode: LabelMode,
    /// The model folder to write (created if needed; model.json and the weights are each
    /// written atomically).
    #[arg(short, long)]
    pub out: PathBuf,
}

/// One tensor of a `state_dict`: its key and shape.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SourceTensor {
    /// The `state_dict` key, e.g. `blocks.0.conv.weight` or `4.running_var`.
    pub key: String,
    /// Its shape (empty for a scalar such as `num_batches_tracked`).
    pub shape: Vec<usize>,
}

/// What a module of the `state_dict` was recognized as.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ModuleKind {
    Conv,
    Norm,
    Linear,
}

/// A module's tensors: parameter name (the key's last segment) → shape.
type Params<'a> = BTreeMap<&'a str, &'a [usize]>;

/// One module of the `state_dict`: its key prefix, tensors and what it was recognized as.
struct SourceModule<'a> {
    prefix: &'a str,
    kind: ModuleKind,
    params: Params<'a>,
}

/// `key` → Burn path of every tensor to load; everything else (`num_batches_tracked`) is left out.
pub type KeyMapping = Vec<(String, String)>;

/// Keys in natural order: segments that are numbers compare as numbers.
fn natural_key(prefix: &str) -> Vec<(u64, String)> {
    prefix
        .split('.')
        .map(|segment| match segment.parse::<u64>() {
            Ok(n) => (n, String::new()),
            Err(_) => (u64::MAX, segment.to_owned()),
        })
        .collect()
}

/// Recognizes a module from its parameter names and the rank of its `weight`.
fn kind_of(prefix: &str, params: &Params<'_>) -> anyhow::Result<ModuleKind> {
    if params.contains_key("running_mean") && params.contains_key("running_var") {
        return Ok(ModuleKind::Norm);
    }
    match params.get("weight").map(|shape| shape.len()) {
        Some(4) => Ok(ModuleKind::Conv),
        Some(2) => Ok(ModuleKind::Linear),
        _ => bail!(
            "module `{prefix}` (tensors {}) is not a Conv2d, BatchNorm2d or Linear layer",
            params.keys().copied().collect::<Vec<_>>().join(", ")
        ),
    }
}

/// Checks one tensor's shape and adds its mapping.
fn map_tensor(
    mapping: &mut KeyMapping,
    module: &SourceModule<'_>,
    name: &str,
    expected: &[usize],
    target: String,
) -> anyhow::Result<()> {
    let prefix = module.prefix;
    let key = if prefix.is_empty() {
        name.to_owned()
    } else {
        format!("{prefix}.{name}")
    };
    let Some(shape) = module.params.get(name) else {
        bail!("`{key}` is missing (expected shape {expected:?})");
    };
    if *shape != expected {
        bail!("`{key}` has shape {shape:?}, the configuration needs {expected:?}");
    }
    mapping.push((key, target));
    Ok(())
}

/// Plans the import of a `state_dict` with `tensors` into a network of `config` with `classes`
/// outputs: which key goes to which Burn parameter. Checks the module sequence and every shape.
/// Cost: sorting the keys.
///
/// # Errors
/// A message naming the offending key (or module) and what was expected.
pub fn plan(
    tensors: &[SourceTensor],
    config: &ModelConfig,
    classes: usize,
) -> anyhow::Result<KeyMapping> {
    let blocks = config.blocks()?;
    let flatten = config.flatten_size()?;
    let mut modules: BTreeMap<Vec<(u64, String)>, (&str, Params<'_>)> = BTreeMap::new();
    for tensor in tensors {
        let (prefix, name) = tensor
            .key
            .rsplit_once('.')
            .unwrap_or(("", tensor.key.as_str()));
        modules
            .entry(natural_key(prefix))
            .or_insert_with(|| (prefix, BTreeMap::new()))
            .1
            .insert(name, tensor.shape.as_slice());
    }
    let sequence: Vec<SourceModule<'_>> = modules
        .into_values()
        .map(|(prefix, params)| {
            Ok(SourceModule {
                prefix,
                kind: kind_of(prefix, &params)?,
                params,
            })
        })
        .collect::<anyhow::Result<_>>()?;
    let expected_kinds = blocks
        .iter()
        .flat_map(|_| [ModuleKind::Conv, ModuleKind::Norm])
        .chain([ModuleKind::Linear]);
    let found: Vec<ModuleKind> = sequence.iter().map(|module| module.kind).collect();
    if !found.iter().copied().eq(expected_kinds.clone()) {
        bail!(
            "the modules read {} in order, the configuration's {} blocks need {}",
            describe(&found),
            blocks.len(),
            describe(&expected_kinds.collect::<Vec<_>>())
        );
    }
    let mut mapping = KeyMapping::new();
    for (i, (block, layer)) in blocks.iter().zip(&config.layers).enumerate() {
        let (conv, norm) = (&sequence[2 * i], &sequence[2 * i + 1]);
        let channels = layer.out_channels;
        let weight = [channels, block.input[0], layer.kernel[0], layer.kernel[1]];
        let target = |module: &str, param: &str| format!("blocks.{i}.{module}.{param}");
        map_tensor(
            &mut mapping,
            conv,
            "weight",
            &weight,
            target("conv", "weight"),
        )?;
        map_tensor(
            &mut mapping,
            conv,
            "bias",
            &[channels],
            target("conv", "bias"),
        )?;
        // BatchNorm's affine parameters keep PyTorch's names: the adapter finds them for gamma/beta.
        for param in ["weight", "bias", "running_mean", "running_var"] {
            map_tensor(
                &mut mapping,
                norm,
                param,
                &[channels],
                target("norm", param),
            )?;
        }
    }
    let head = &sequence[sequence.len() - 1];
    map_tensor(
        &mut mapping,
        head,
        "weight",
        &[classes, flatten],
        "head.weight".into(),
    )
    .context("the linear layer's inputs are the flattened last map (channels × bins × frames)")?;
    map_tensor(&mut mapping, head, "bias", &[classes], "head.bias".into())?;
    Ok(mapping)
}

/// `conv, norm, …` of a module sequence, for error messages.
fn describe(kinds: &[ModuleKind]) -> String {
    let names: Vec<&str> = kinds
        .iter()
        .map(|kind| match kind {
            ModuleKind::Conv => "conv",
            ModuleKind::Norm => "norm",
            ModuleKind::Linear => "linear",
        })
        .collect();
    format!("[{}]", names.join(", "))
}

/// A regular expression matching exactly `key`.
fn exact_pattern(key: &str) -> String {
    let mut pattern = String::from("^");
    for c in key.chars() {
        if !c.is_ascii_alphanumeric() && c != '_' {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('$');
    pattern
}

/// The keys and shapes of the `state_dict` in `path` (under `key` if given).
fn read_tensors(path: &Path, key: Option<&str>) -> anyhow::Result<Vec<SourceTensor>> {
    let reader = match key {
        Some(key) => PytorchReader::with_top_level_key(path, key),
        None => PytorchReader::new(path),
    }
    .map_err(|e| anyhow::anyhow!("{}: not a readable PyTorch state_dict: {e}", path.display()))?;
    let mut tensors: Vec<SourceTensor> = reader
        .tensors()
        .iter()
        .map(|(key, tensor)| SourceTensor {
            key: key.clone(),
            shape: tensor.shape().to_vec(),
        })
        .collect();
    if tensors.is_empty() {
        bail!("{}: the file holds no tensors", path.display());
    }
    tensors.sort_by(|a, b| a.key.cmp(&b.key));
    Ok(tensors)
}

/// Loads the `state_dict` in `path` into `network` (built with `config` and `classes` outputs).
/// Cost: reading the file, one upload of the weights.
///
/// # Errors
/// Unreadable file, a structure or shape that does not match (see [`plan`]), or a tensor the
/// store could not apply; each message names the file.
pub fn load_state_dict(
    network: &mut crate::model::Classifier,
    path: &Path,
    key: Option<&str>,
    config: &ModelConfig,
    classes: usize,
) -> anyhow::Result<()> {
    let tensors = read_tensors(path, key)?;
    let mapping = plan(&tensors, config, classes)
        .with_context(|| format!("{}: does not match the configured network", path.display()))?;
    let remapper = KeyRemapper::from_patterns(
        mapping
            .iter()
            .map(|(from, to)| (exact_pattern(from), to))
            .collect(),
    )
    // regex's error lacks std::error::Error where regex is built without `std` (a release
    // build of this crate alone), so it is formatted rather than wrapped.
    .map_err(|e| anyhow::anyhow!("building the key mapping: {e}"))?;
    let mut store = PytorchStore::from_file(path)
        .remap(remapper)
        .map_indices_contiguous(false)
        .validate(true)
        .allow_partial(false);
    if let Some(key) = key {
        store = store.with_top_level_key(key);
    }
    let result = network
        .load_from(&mut store)
        .map_err(|e| anyhow::anyhow!("{}: cannot load the state_dict: {e}", path.display()))?;
    let applied = result.applied.len();
    if applied != mapping.len() {
        bail!(
            "{}: {applied} of the {} mapped tensors were applied ({result})",
            path.display(),
            mapping.len()
        );
    }
    Ok(())
}

/// The configuration `args` ask for: `--config`'s file or the preset.
fn configuration(args: &ImportArgs) -> anyhow::Result<ModelConfig> {
    let Some(path) = &args.config else {
        return Ok(ModelConfig::from_preset(args.preset));
    };
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let config: ModelConfig = serde_json::from_str(&text)
        .with_context(|| format!("{}: not a model configuration", path.display()))?;
    config
        .blocks()
        .with_context(|| format!("{}: unusable configuration", path.display()))?;
    Ok(config)
}

/// Runs `trainer import`: reads the selection's classes, both `state_dict`s, and writes the
/// model folder. Returns the files written. Cost: reading and writing the weights.
///
/// # Errors
/// See [`load_state_dict`]; also an unreadable cache or configuration, or an unwritable folder.
pub fn run(args: &ImportArgs) -> anyhow::Result<Vec<PathBuf>> {
    let selection = crate::prepare::read_selection(&args.cache)?;
    let config = configuration(args)?;
    let device = Device::flex();
    let (composers, instruments) = (selection.composers.len(), selection.instruments.len());
    let mut networks = Networks::new(&config, composers, instruments, 0, &device)?;
    let key = args.key.as_deref();
    load_state_dict(
        &mut networks.composer,
        &args.composer,
        key,
        &config,
        composers,
    )?;
    load_state_dict(
        &mut networks.instruments,
        &args.instruments,
        key,
        &config,
        instruments,
    )?;
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("creating {}", args.out.display()))?;
    let info = ModelInfo {
        format_version: MODEL_FORMAT_VERSION,
        config,
        composers: selection.composers.clone(),
        instruments: selection.instruments.clone(),
        instrument_names: selection
            .instruments
            .iter()
            .map(|&p| crate::musicnet::instruments::instrument_name(p))
            .collect(),
        label_mode: args.label_mode,
        seed: 0,
        epochs: 0,
        kept_epoch: None,
        history: Vec::new(),
        imported_from: Some(vec![args.composer.clone(), args.instruments.clone()]),
    };
    save_trained(&args.out, &networks, &info)
}
