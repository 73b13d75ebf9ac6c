//! `host-cli inspect`: what is inside a model file, and what running it costs.

use std::fmt::Write as _;
use std::path::PathBuf;

use anyhow::Result;
use core_nostd::frontend::{self, DB_PER_STEP};
use core_nostd::inference::{flash_bytes, network_scratch_bytes, scratch_bytes};
use core_nostd::model::spec::{FrontEndSpec, InputSpec};
use core_nostd::model::{FORMAT_VERSION, Layer, Model, Network};
use core_nostd::nn::{Ratio, Shape};
use serde::Serialize;

use crate::model_file::ModelBytes;

/// Show what a model file holds: labels, layers, costs, quantization, front end, checksum.
///
/// Reads and fully validates MODEL (the bundled model when none is given) exactly as
/// `classify` and the firmware do, then lists its labels, each network's layers with their
/// output shapes, parameters and multiply-accumulates, and the memory one inference needs:
/// scratch (RAM) and flash (the file itself, since weights are used in place).
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The model file (default: the bundled model).
    #[arg(value_name = "MODEL")]
    pub model: Option<PathBuf>,
    /// Print one JSON object instead of tables.
    #[arg(long)]
    pub json: bool,
}

/// The quantization scheme every model file uses (core-nostd's `nn` and `nn::requant`).
pub const QUANTIZATION: &str = "int8 weights, symmetric, one scale per output channel; int8 \
    activations, one scale and zero point per tensor; int32 bias at scale s_in*s_w; \
    requantization by a Q31 multiplier and a shift per output channel, TFLite's \
    MultiplyByQuantizedMultiplier with double rounding (SaturatingRoundingDoublingHighMul, ties \
    toward +inf, then RoundingDivideByPOT, ties away from zero); ReLU fused as a clamp at the \
    output zero point; i32 accumulators; softmax and sigmoid in integer Q15";

/// Runs `inspect`.
///
/// # Errors
/// A missing, unreadable or invalid model file.
pub fn run(args: &Args) -> Result<()> {
    let bytes = ModelBytes::load(args.model.as_deref())?;
    let model = bytes.parse()?;
    let summary = Summary::new(&bytes, &model);
    if args.json {
        println!("{}", serde_json::to_string_pretty(&summary)?);
    } else {
        print!("{}", summary.table());
    }
    Ok(())
}

/// Everything `inspect` reports.
#[derive(Debug, Serialize)]
pub struct Summary {
    /// The file, or the bundled model.
    pub file: String,
    /// File size, bytes.
    pub file_bytes: usize,
    /// Format version.
    pub format_version: u16,
    /// CRC-32 stored in (and checked against) the file, hex.
    pub crc32: String,
    /// Composer labels, in output order.
    pub composers: Vec<String>,
    /// Instrument labels, in output order.
    pub instruments: Vec<String>,
    /// The front end the model was trained with.
    pub front_end: FrontEndSpec,
    /// Decibels of power per feature code step.
    pub db_per_step: f32,
    /// The network input.
    pub input: InputSummary,
    /// The composer network.
    pub composer_network: NetworkSummary,
    /// The instrument network.
    pub instrument_network: NetworkSummary,
    /// Multiply-accumulates of one inference (both networks).
    pub macs_per_inference: u64,
    /// Parameters (weights and biases) of both networks.
    pub parameters: u64,
    /// Scratch bytes one inference needs (the larger network's).
    pub scratch_bytes: usize,
    /// Flash bytes: the whole file, read in place.
    pub flash_bytes: usize,
    /// The quantization scheme, in words.
    pub quantization: &'static str,
}

/// The network input.
#[derive(Debug, Serialize)]
pub struct InputSummary {
    /// Windows stacked as channels.
    pub stack: usize,
    /// Frequency bins.
    pub bins: usize,
    /// Frames per window.
    pub frames: usize,
    /// Seconds per window.
    pub window_seconds: f64,
    /// Real value of one code step.
    pub scale: Ratio,
    /// Code of real 0.
    pub zero_point: i8,
}

/// One network.
#[derive(Debug, Serialize)]
pub struct NetworkSummary {
    /// How the logits become probabilities.
    pub output: &'static str,
    /// Layers, input first.
    pub layers: Vec<LayerSummary>,
    /// Logit scale.
    pub logit_scale: Ratio,
    /// Logit zero point.
    pub logit_zero_point: i8,
    /// Parameters (weights and biases).
    pub parameters: u64,
    /// Bytes of weights, biases, multipliers and shifts.
    pub parameter_bytes: usize,
    /// Multiply-accumulates of one pass.
    pub macs: u64,
    /// Scratch bytes of one pass.
    pub scratch_bytes: usize,
}

/// One layer.
#[derive(Debug, Serialize)]
pub struct LayerSummary {
    /// `conv2d`, `maxpool2d`, `flatten`, `linear`.
    pub kind: &'static str,
    /// Input shape `[height, width, channels]` (HWC).
    pub input: [usize; 3],
    /// Output shape `[height, width, channels]` (HWC).
    pub output: [usize; 3],
    /// `[kh, kw]` (convolution, pooling).
    pub kernel: Option<[usize; 2]>,
    /// `[sy, sx]` (convolution, pooling).
    pub stride: Option<[usize; 2]>,
    /// `[py, px]` (convolution).
    pub padding: Option<[usize; 2]>,
    /// `relu` or `none` (convolution, linear).
    pub activation: Option<&'static str>,
    /// Output zero point (convolution, linear).
    pub output_zero_point: Option<i8>,
    /// Weights and biases.
    pub parameters: u64,
    /// Multiply-accumulates.
    pub macs: u64,
}

/// `[h, w, c]`.
fn dims(shape: Shape) -> [usize; 3] {
    [shape.height, shape.width, shape.channels]
}

/// Weights plus biases of a layer with `out` channels of `taps` weights each.
fn weights_and_biases(out: usize, taps: usize) -> u64 {
    (out as u64).saturating_mul(taps as u64 + 1)
}

impl LayerSummary {
    /// Describes `layer`.
    fn new(layer: &Layer<'_>) -> Self {
        let mut summary = Self {
            kind: "flatten",
            input: dims(layer.input_shape()),
            output: dims(layer.output_shape()),
            kernel: None,
            stride: None,
            padding: None,
            activation: None,
            output_zero_point: None,
            parameters: 0,
            macs: layer.macs(),
        };
        match layer {
            Layer::Conv2d(conv) => {
                let [kh, kw] = conv.kernel();
                let stage = conv.quantization().output();
                summary.kind = "conv2d";
                summary.kernel = Some(conv.kernel());
                summary.stride = Some(conv.stride());
                summary.padding = Some(conv.padding());
                summary.activation = Some(if stage.is_relu() { "relu" } else { "none" });
                summary.output_zero_point = Some(stage.zero_point());
                summary.parameters = weights_and_biases(
                    conv.output_shape().channels,
                    kh * kw * conv.input_shape().channels,
                );
            }
            Layer::MaxPool2d(pool) => {
                summary.kind = "maxpool2d";
                summary.kernel = Some(pool.kernel());
                summary.stride = Some(pool.stride());
            }
            Layer::Flatten { .. } => {}
            Layer::Linear(linear) => {
                let stage = linear.quantization().output();
                summary.kind = "linear";
                summary.activation = Some(if stage.is_relu() { "relu" } else { "none" });
                summary.output_zero_point = Some(stage.zero_point());
                summary.parameters = weights_and_biases(
                    linear.output_shape().channels,
                    linear.input_shape().channels,
                );
            }
        }
        summary
    }
}

impl NetworkSummary {
    /// Describes `network`.
    fn new(network: &Network<'_>, output: &'static str) -> Self {
        let layers: Vec<LayerSummary> = network.layers().iter().map(LayerSummary::new).collect();
        Self {
            output,
            parameters: layers.iter().map(|l| l.parameters).sum(),
            layers,
            logit_scale: network.logit_scale(),
            logit_zero_point: network.logit_zero_point(),
            parameter_bytes: network.parameter_bytes(),
            macs: network.macs(),
            scratch_bytes: network_scratch_bytes(network),
        }
    }
}

impl Summary {
    /// Describes the validated `model` read from `bytes`. Cost: one pass over the layers.
    #[must_use]
    pub fn new(bytes: &ModelBytes, model: &Model<'_>) -> Self {
        let composer_network = NetworkSummary::new(model.composer_network(), "softmax");
        let instrument_network = NetworkSummary::new(model.instrument_network(), "sigmoid");
        Self {
            file: bytes.name(),
            file_bytes: bytes.bytes().len(),
            format_version: FORMAT_VERSION,
            crc32: format!("{:08x}", bytes.crc32()),
            composers: model.composers().iter().map(ToString::to_string).collect(),
            instruments: model
                .instruments()
                .iter()
                .map(ToString::to_string)
                .collect(),
            front_end: FrontEndSpec::CURRENT,
            db_per_step: DB_PER_STEP,
            input: InputSummary {
                stack: model.stack(),
                bins: frontend::BINS,
                frames: frontend::WINDOW_FRAMES,
                window_seconds: frontend::WINDOW_SAMPLES as f64
                    / f64::from(frontend::SAMPLE_RATE_HZ),
                scale: InputSpec::SCALE,
                zero_point: InputSpec::ZERO_POINT,
            },
            macs_per_inference: composer_network.macs + instrument_network.macs,
            parameters: composer_network.parameters + instrument_network.parameters,
            composer_network,
            instrument_network,
            scratch_bytes: scratch_bytes(model),
            flash_bytes: flash_bytes(model),
            quantization: QUANTIZATION,
        }
    }

    /// The readable listing.
    #[must_use]
    pub fn table(&self) -> String {
        let mut out = String::new();
        let _ = self.write_table(&mut out);
        out
    }

    /// Writes [`table`](Self::table) into `out`.
    fn write_table(&self, out: &mut String) -> std::fmt::Result {
        let fe = &self.front_end;
        let input = &self.input;
        writeln!(out, "{}", self.file)?;
        writeln!(
            out,
            "  file: {} bytes, format version {}, CRC-32 {} (checked)",
            thousands(self.file_bytes as u64),
            self.format_version,
            self.crc32
        )?;
        writeln!(
            out,
            "  composers ({}): {}",
            self.composers.len(),
            self.composers.join(", ")
        )?;
        writeln!(
            out,
            "  instruments ({}): {}",
            self.instruments.len(),
            self.instruments.join(", ")
        )?;
        writeln!(
            out,
            "  input: {} window{} x {} bins x {} frames ({:.3} s each), int8 codes, scale {}/{}, \
             zero point {}",
            input.stack,
            if input.stack == 1 { "" } else { "s" },
            input.bins,
            input.frames,
            input.window_seconds,
            input.scale.num,
            input.scale.den,
            input.zero_point
        )?;
        writeln!(
            out,
            "  front end: {} Hz, frames of {} samples every {} (Hann, {}-point real FFT), {} bins \
             of {:.2} Hz; code = clamp(round({}*log2(P+1)) - {}, -128, 127), {:.3} dB per step",
            fe.sample_rate_hz,
            fe.frame_len,
            fe.hop_len,
            fe.frame_len,
            fe.bins,
            f64::from(fe.sample_rate_hz) / f64::from(fe.frame_len),
            fe.steps_per_octave,
            fe.feature_offset,
            self.db_per_step
        )?;
        for (title, network, classes) in [
            (
                "Composer network",
                &self.composer_network,
                self.composers.len(),
            ),
            (
                "Instrument network",
                &self.instrument_network,
                self.instruments.len(),
            ),
        ] {
            write_network(out, title, network, classes)?;
        }
        writeln!(out, "\n  Per inference (both networks)")?;
        writeln!(
            out,
            "    parameters:  {} ({} bytes with quantization constants)",
            thousands(self.parameters),
            thousands(
                (self.composer_network.parameter_bytes + self.instrument_network.parameter_bytes)
                    as u64
            )
        )?;
        writeln!(
            out,
            "    MACs:        {} ({:.3} G)",
            thousands(self.macs_per_inference),
            self.macs_per_inference as f64 / 1e9
        )?;
        writeln!(
            out,
            "    scratch:     {} bytes (RAM: the larger network's peak layer)",
            thousands(self.scratch_bytes as u64)
        )?;
        writeln!(
            out,
            "    flash:       {} bytes (the file; weights are used in place)",
            thousands(self.flash_bytes as u64)
        )?;
        writeln!(out, "\n  Quantization: {}", self.quantization)
    }
}

/// One network's layer table.
fn write_network(
    out: &mut String,
    title: &str,
    network: &NetworkSummary,
    classes: usize,
) -> std::fmt::Result {
    writeln!(
        out,
        "\n  {title} ({} over {classes} outputs; logits: scale {:.6}, zero point {})",
        network.output,
        network.logit_scale.to_f64(),
        network.logit_zero_point
    )?;
    writeln!(
        out,
        "    #  layer      output (HxWxC)   kernel  stride  pad   act   zero  parameters          MACs"
    )?;
    let pair = |v: Option<[usize; 2]>| v.map_or("-".to_string(), |[a, b]| format!("{a}x{b}"));
    for (index, layer) in network.layers.iter().enumerate() {
        let [h, w, c] = layer.output;
        writeln!(
            out,
            "    {index:<2} {:<10} {:<16} {:<7} {:<7} {:<5} {:<5} {:>4}  {:>10}  {:>12}",
            layer.kind,
            format!("{h}x{w}x{c}"),
            pair(layer.kernel),
            pair(layer.stride),
            pair(layer.padding),
            layer.activation.unwrap_or("-"),
            layer
                .output_zero_point
                .map_or("-".to_string(), |z| z.to_string()),
            thousands(layer.parameters),
            thousands(layer.macs),
        )?;
    }
    writeln!(
        out,
        "    total: {} parameters ({} bytes), {} MACs, {} bytes of scratch",
        thousands(network.parameters),
        thousands(network.parameter_bytes as u64),
        thousands(network.macs),
        thousands(network.scratch_bytes as u64)
    )
}

/// `1234567` → `1,234,567`.
fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thousands_groups_digits() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(509_377), "509,377");
        assert_eq!(thousands(1_234_567), "1,234,567");
    }
}
