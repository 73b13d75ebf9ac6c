//! The model file: one byte string holding label names, front-end parameters, the two int8
//! networks and their weights, read in place (from flash or any byte slice) without copying.
//!
//! # Byte layout (format version 1)
//!
//! | offset | size | content |
//! |---|---|---|
//! | 0 | 8 | magic [`MAGIC`] = `89 43 4D 50 43 4C 53 0A` (`\x89CMPCLS\n`) |
//! | 8 | 2 | format version, `u16` little-endian ([`FORMAT_VERSION`] = 1) |
//! | 10 | 4 | payload length `n`, `u32` little-endian |
//! | 14 | `n` | payload: a postcard-encoded [`ModelSpec`](spec::ModelSpec) (see [`spec`]) |
//! | 14 + `n` | 4 | CRC-32 (ISO-HDLC: zlib's, PNG's) of bytes `0 .. 14 + n`, little-endian |
//!
//! As in PNG, the magic's first byte has its high bit set (catches 7-bit transfers) and the last
//! is a line feed (catches newline conversion). The version comes before the checksum so a file of
//! a future version is reported as such, not as corrupt. The payload length (not in the first
//! sketch of this format) lets a reader tell a truncated file from a corrupt one and find the end
//! of a model stored in a larger flash partition ([`file_len`]).
//!
//! # Reading: bytes → validated [`Model`]
//!
//! [`Model::parse`] trusts nothing: it checks the magic, version, length and checksum, decodes the
//! payload (postcard, zero-copy: labels are `&str` and weights `&[u8]` into the input), then
//! validates every value with checked arithmetic: front-end parameters against
//! [`crate::frontend`], the input quantization (scale 1/128, zero point 0), each layer's
//! geometry against the previous layer's output shape, every parameter slice's length, every
//! requantization parameter's range, the zero-point chain, the named size limits below, and the
//! label counts against the networks' outputs. Each class of malformed file has its own
//! [`ModelError`]. The result has private fields and precomputed shapes: code past `parse`
//! (the [`crate::inference`] module) never re-checks.
//!
//! # Writing
//!
//! [`encode`] writes the exact bytes for a [`ModelSpec`](spec::ModelSpec) into a caller's buffer
//! ([`encoded_len`] says how big) and then parses its own output, so a writer can only produce
//! files a reader accepts. [`layout`] converts PyTorch's weight layouts to this format's.

mod encode;
pub mod layout;
pub mod spec;

pub use encode::{encode, encoded_len};

use core::fmt;

use crate::frontend;
use crate::nn::{Conv2d, LayerError, Linear, MaxPool2d, Ratio, Shape};
use spec::{InputSpec, LayerSpec, RawModel, RawNetwork};

/// The first 8 bytes of every model file.
pub const MAGIC: [u8; 8] = *b"\x89CMPCLS\n";
/// The format version this crate reads and writes.
pub const FORMAT_VERSION: u16 = 1;
/// Bytes before the payload: magic, version, payload length.
pub const HEADER_LEN: usize = 14;
/// Bytes after the payload: the CRC-32.
pub const CHECKSUM_LEN: usize = 4;

/// Most layers in one network.
pub const MAX_LAYERS: usize = 16;
/// Most outputs (labels) of one network.
pub const MAX_CLASSES: usize = 32;
/// Longest label name, in bytes of UTF-8.
pub const MAX_LABEL_BYTES: usize = 64;
/// Most windows stacked into the input.
pub const MAX_STACK: u32 = 16;
/// Most channels of any activation (and outputs of a linear layer in the middle of a network).
pub const MAX_CHANNELS: u32 = 1024;
/// Largest convolution kernel side.
pub const MAX_KERNEL: u32 = 16;
/// Largest convolution stride (pooling windows and strides only have to fit their input).
pub const MAX_STRIDE: u32 = 16;
/// Largest activation, in bytes (`H · W · C`).
pub const MAX_ACTIVATION_BYTES: usize = 16 << 20;
/// Most taps summed into one accumulator (`kh · kw · C_in`, or a linear layer's inputs); keeps
/// every `i32` sum of products exact (`65,536 · 128 · 255 < 2^31`).
pub const MAX_PATCH: usize = 1 << 16;

/// The CRC-32 of the file (ISO-HDLC; the 256-entry table, 1 KiB of flash).
const CRC32: crc::Crc<u32> = crc::Crc::<u32>::new(&crc::CRC_32_ISO_HDLC);

/// Which of the two networks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum NetworkId {
    /// The composer network (softmax).
    Composer,
    /// The instrument network (sigmoids).
    Instruments,
}

impl fmt::Display for NetworkId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Composer => "composer network",
            Self::Instruments => "instrument network",
        })
    }
}

/// A named size limit a file exceeded (see the `MAX_*` constants).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Limit {
    /// The payload does not fit the 32-bit length field (writing only).
    FileBytes,
    /// [`MAX_LAYERS`].
    Layers,
    /// [`MAX_CLASSES`].
    Classes,
    /// [`MAX_LABEL_BYTES`].
    LabelBytes,
    /// [`MAX_STACK`].
    Stack,
    /// [`MAX_CHANNELS`].
    Channels,
    /// [`MAX_KERNEL`].
    Kernel,
    /// [`MAX_STRIDE`].
    Stride,
    /// [`MAX_ACTIVATION_BYTES`].
    ActivationBytes,
    /// [`MAX_PATCH`].
    Patch,
}

impl fmt::Display for Limit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::FileBytes => write!(f, "payload larger than 4 GiB"),
            Self::Layers => write!(f, "more than {MAX_LAYERS} layers"),
            Self::Classes => write!(f, "more than {MAX_CLASSES} labels"),
            Self::LabelBytes => write!(f, "a label longer than {MAX_LABEL_BYTES} bytes"),
            Self::Stack => write!(f, "more than {MAX_STACK} stacked windows"),
            Self::Channels => write!(f, "more than {MAX_CHANNELS} channels"),
            Self::Kernel => write!(f, "a kernel side above {MAX_KERNEL}"),
            Self::Stride => write!(f, "a stride above {MAX_STRIDE}"),
            Self::ActivationBytes => {
                write!(f, "an activation above {MAX_ACTIVATION_BYTES} bytes")
            }
            Self::Patch => write!(f, "more than {MAX_PATCH} taps per output"),
        }
    }
}

/// Why a model file was refused (or could not be written). One variant per class of defect.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ModelError {
    /// The bytes end before the header, payload or checksum does.
    Truncated,
    /// Bytes follow the checksum (use [`file_len`] to cut a model out of a larger region).
    TrailingBytes,
    /// The file does not start with [`MAGIC`].
    BadMagic,
    /// The format version is not [`FORMAT_VERSION`].
    UnsupportedVersion {
        /// The version in the file.
        found: u16,
    },
    /// The CRC-32 does not match the contents.
    BadChecksum {
        /// CRC stored in the file.
        stored: u32,
        /// CRC of the bytes read.
        computed: u32,
    },
    /// The payload is not a valid postcard encoding of the schema (wrong types, bad UTF-8,
    /// unknown layer kind, bytes left over).
    Malformed,
    /// The front-end parameters or the input quantization differ from this crate's.
    FrontEndMismatch,
    /// A network has another number of outputs than it has labels.
    LabelCountMismatch {
        /// Which network.
        network: NetworkId,
        /// Labels in the file.
        labels: usize,
        /// Outputs of the network.
        outputs: usize,
    },
    /// A layer does not fit its input (or a network is empty or does not end in a linear layer).
    InconsistentShapes {
        /// Which network.
        network: NetworkId,
        /// Index of the layer (0 = first).
        layer: usize,
    },
    /// A layer's weight, bias, multiplier or shift bytes have the wrong length.
    BadWeightsLength {
        /// Which network.
        network: NetworkId,
        /// Index of the layer.
        layer: usize,
    },
    /// A requantization parameter is out of range, the zero points do not chain, or a scale is 0.
    BadQuantization {
        /// Which network.
        network: NetworkId,
        /// Index of the layer.
        layer: usize,
    },
    /// A size exceeds one of the named limits.
    TooLarge {
        /// Which limit.
        what: Limit,
    },
    /// [`encode`] only: the output buffer is too small.
    BufferTooSmall {
        /// Bytes the file needs.
        needed: usize,
        /// Bytes provided.
        provided: usize,
    },
}

impl fmt::Display for ModelError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::Truncated => write!(f, "model file is truncated"),
            Self::TrailingBytes => write!(f, "model file has bytes after its checksum"),
            Self::BadMagic => write!(f, "not a model file (bad magic)"),
            Self::UnsupportedVersion { found } => write!(
                f,
                "model format version {found} is not supported (this build reads {FORMAT_VERSION})"
            ),
            Self::BadChecksum { stored, computed } => write!(
                f,
                "model file is corrupt: CRC-32 {computed:08x}, file says {stored:08x}"
            ),
            Self::Malformed => write!(f, "model payload is malformed"),
            Self::FrontEndMismatch => write!(
                f,
                "model was made for another front end or input quantization"
            ),
            Self::LabelCountMismatch {
                network,
                labels,
                outputs,
            } => write!(f, "{network} has {outputs} outputs but {labels} labels"),
            Self::InconsistentShapes { network, layer } => {
                write!(f, "{network}, layer {layer}: shapes do not fit")
            }
            Self::BadWeightsLength { network, layer } => {
                write!(
                    f,
                    "{network}, layer {layer}: parameter bytes of the wrong length"
                )
            }
            Self::BadQuantization { network, layer } => {
                write!(
                    f,
                    "{network}, layer {layer}: invalid quantization parameters"
                )
            }
            Self::TooLarge { what } => write!(f, "model exceeds a size limit: {what}"),
            Self::BufferTooSmall { needed, provided } => {
                write!(f, "model file needs {needed} bytes, buffer has {provided}")
            }
        }
    }
}

impl core::error::Error for ModelError {}

/// One validated layer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layer<'a> {
    /// 2-D convolution.
    Conv2d(Conv2d<'a>),
    /// Max pooling.
    MaxPool2d(MaxPool2d),
    /// Reinterprets its input shape as `1 × 1 × len` (no data movement in HWC).
    Flatten {
        /// Shape of the input.
        input: Shape,
    },
    /// Fully connected.
    Linear(Linear<'a>),
}

impl Layer<'_> {
    /// Shape of the input.
    #[must_use]
    pub const fn input_shape(&self) -> Shape {
        match self {
            Self::Conv2d(layer) => layer.input_shape(),
            Self::MaxPool2d(layer) => layer.input_shape(),
            Self::Flatten { input } => *input,
            Self::Linear(layer) => layer.input_shape(),
        }
    }

    /// Shape of the output.
    #[must_use]
    pub const fn output_shape(&self) -> Shape {
        match self {
            Self::Conv2d(layer) => layer.output_shape(),
            Self::MaxPool2d(layer) => layer.output_shape(),
            Self::Flatten { input } => Shape::new(1, 1, input.len()),
            Self::Linear(layer) => layer.output_shape(),
        }
    }

    /// Multiply-accumulates of one pass (0 for pooling and flatten).
    #[must_use]
    pub fn macs(&self) -> u64 {
        match self {
            Self::Conv2d(layer) => layer.macs(),
            Self::Linear(layer) => layer.macs(),
            Self::MaxPool2d(_) | Self::Flatten { .. } => 0,
        }
    }

    /// Bytes of parameters.
    #[must_use]
    pub const fn parameter_bytes(&self) -> usize {
        match self {
            Self::Conv2d(layer) => layer.parameter_bytes(),
            Self::Linear(layer) => layer.parameter_bytes(),
            Self::MaxPool2d(_) | Self::Flatten { .. } => 0,
        }
    }
}

/// One validated network: layers whose shapes chain from the model input to the logits.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Network<'a> {
    id: NetworkId,
    input: Shape,
    layers: heapless::Vec<Layer<'a>, MAX_LAYERS>,
    logit_scale: Ratio,
    logit_zero_point: i8,
    classes: usize,
}

impl<'a> Network<'a> {
    /// Which network this is.
    #[must_use]
    pub const fn id(&self) -> NetworkId {
        self.id
    }

    /// Shape of the input (HWC: bins × frames × stacked windows).
    #[must_use]
    pub const fn input_shape(&self) -> Shape {
        self.input
    }

    /// The layers, input first; the last is the linear layer producing the logits.
    #[must_use]
    pub fn layers(&self) -> &[Layer<'a>] {
        &self.layers
    }

    /// Number of outputs (= labels).
    #[must_use]
    pub const fn classes(&self) -> usize {
        self.classes
    }

    /// Real value of one logit code step.
    #[must_use]
    pub const fn logit_scale(&self) -> Ratio {
        self.logit_scale
    }

    /// Logit code of real 0.
    #[must_use]
    pub const fn logit_zero_point(&self) -> i8 {
        self.logit_zero_point
    }

    /// Multiply-accumulates of one pass.
    #[must_use]
    pub fn macs(&self) -> u64 {
        self.layers
            .iter()
            .fold(0_u64, |sum, layer| sum.saturating_add(layer.macs()))
    }

    /// Bytes of weights, biases, multipliers and shifts.
    #[must_use]
    pub fn parameter_bytes(&self) -> usize {
        self.layers.iter().fold(0_usize, |sum, layer| {
            sum.saturating_add(layer.parameter_bytes())
        })
    }

    /// Validates a decoded network for an input of shape `input`.
    fn validate(
        id: NetworkId,
        raw: &RawNetwork<'a>,
        input: Shape,
        input_zero_point: i8,
    ) -> Result<Self, ModelError> {
        if raw.layers.len > MAX_LAYERS {
            return Err(ModelError::TooLarge {
                what: Limit::Layers,
            });
        }
        let mut layers = heapless::Vec::new();
        let mut shape = input;
        let mut zero_point = input_zero_point;
        for (index, spec) in raw.layers.items.iter().enumerate() {
            let layer = validate_layer(spec, shape, zero_point).map_err(|error| match error {
                LayerFault::Layer(LayerError::Shape) => ModelError::InconsistentShapes {
                    network: id,
                    layer: index,
                },
                LayerFault::Layer(LayerError::WeightsLength) => ModelError::BadWeightsLength {
                    network: id,
                    layer: index,
                },
                LayerFault::Layer(LayerError::Quantization) => ModelError::BadQuantization {
                    network: id,
                    layer: index,
                },
                LayerFault::Limit(what) => ModelError::TooLarge { what },
            })?;
            shape = layer.output_shape();
            if shape.len() > MAX_ACTIVATION_BYTES {
                return Err(ModelError::TooLarge {
                    what: Limit::ActivationBytes,
                });
            }
            zero_point = match &layer {
                Layer::Conv2d(conv) => conv.quantization().output().zero_point(),
                Layer::Linear(linear) => linear.quantization().output().zero_point(),
                Layer::MaxPool2d(_) | Layer::Flatten { .. } => zero_point,
            };
            // At most MAX_LAYERS items were decoded, so this cannot fail.
            layers.push(layer).map_err(|_| ModelError::TooLarge {
                what: Limit::Layers,
            })?;
        }
        let last = raw.layers.len.saturating_sub(1);
        if !matches!(layers.last(), Some(Layer::Linear(_))) {
            return Err(ModelError::InconsistentShapes {
                network: id,
                layer: last,
            });
        }
        if !raw.logit_scale.is_positive() {
            return Err(ModelError::BadQuantization {
                network: id,
                layer: last,
            });
        }
        Ok(Self {
            id,
            input,
            layers,
            logit_scale: raw.logit_scale,
            logit_zero_point: zero_point,
            classes: shape.len(),
        })
    }
}

/// A layer refused for its consistency or for a size limit.
enum LayerFault {
    Layer(LayerError),
    Limit(Limit),
}

impl From<LayerError> for LayerFault {
    fn from(error: LayerError) -> Self {
        Self::Layer(error)
    }
}

/// Checks a named limit.
fn limit(ok: bool, what: Limit) -> Result<(), LayerFault> {
    if ok {
        Ok(())
    } else {
        Err(LayerFault::Limit(what))
    }
}

/// Validates one layer for an input of `shape` with zero point `zero_point`.
fn validate_layer<'a>(
    spec: &LayerSpec<'a>,
    shape: Shape,
    zero_point: i8,
) -> Result<Layer<'a>, LayerFault> {
    match spec {
        LayerSpec::Conv2d(conv) => {
            limit(conv.out_channels <= MAX_CHANNELS, Limit::Channels)?;
            limit(conv.kernel.iter().all(|&k| k <= MAX_KERNEL), Limit::Kernel)?;
            limit(conv.stride.iter().all(|&s| s <= MAX_STRIDE), Limit::Stride)?;
            let [kh, kw] = conv.kernel;
            let patch = u64::from(kh)
                .saturating_mul(u64::from(kw))
                .saturating_mul(u64::from(conv.in_channels));
            limit(patch <= MAX_PATCH as u64, Limit::Patch)?;
            Ok(Layer::Conv2d(Conv2d::new(conv, shape, zero_point)?))
        }
        LayerSpec::MaxPool2d(pool) => Ok(Layer::MaxPool2d(MaxPool2d::new(pool, shape)?)),
        LayerSpec::Flatten => Ok(Layer::Flatten { input: shape }),
        LayerSpec::Linear(linear) => {
            limit(linear.out_features <= MAX_CHANNELS, Limit::Channels)?;
            limit(
                usize::try_from(linear.in_features).is_ok_and(|n| n <= MAX_PATCH),
                Limit::Patch,
            )?;
            Ok(Layer::Linear(Linear::new(linear, shape, zero_point)?))
        }
    }
}

/// A validated model: labels, input description and two networks, borrowing the file's bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Model<'a> {
    composers: heapless::Vec<&'a str, MAX_CLASSES>,
    instruments: heapless::Vec<&'a str, MAX_CLASSES>,
    input: Shape,
    composer: Network<'a>,
    instrument: Network<'a>,
    file_len: usize,
}

impl<'a> Model<'a> {
    /// Parses and validates a whole model file (exactly one file; see [`file_len`] for a file
    /// inside a larger region).
    ///
    /// Cost: one CRC-32 pass over the file and one pass over the payload; the weights are not
    /// copied. The result takes about 7 KiB on a 64-bit host (under 4 KiB on a 32-bit MCU):
    /// [`MAX_LAYERS`] layer descriptions and [`MAX_CLASSES`] label slices per network.
    ///
    /// # Errors
    /// One [`ModelError`] per class of defect; never panics on any input.
    pub fn parse(bytes: &'a [u8]) -> Result<Self, ModelError> {
        let total = file_len(bytes)?;
        if bytes.len() > total {
            return Err(ModelError::TrailingBytes);
        }
        let body_len = total.saturating_sub(CHECKSUM_LEN);
        let (body, stored) = bytes
            .split_at_checked(body_len)
            .ok_or(ModelError::Truncated)?;
        let stored = u32::from_le_bytes(*stored.first_chunk().ok_or(ModelError::Truncated)?);
        let computed = CRC32.checksum(body);
        if stored != computed {
            return Err(ModelError::BadChecksum { stored, computed });
        }
        let payload = body.get(HEADER_LEN..).ok_or(ModelError::Truncated)?;
        let (raw, rest) = postcard::take_from_bytes::<RawModel<'a>>(payload)
            .map_err(|_| ModelError::Malformed)?;
        if !rest.is_empty() {
            return Err(ModelError::Malformed);
        }
        Self::validate(&raw, total)
    }

    /// Validates a decoded payload.
    fn validate(raw: &RawModel<'a>, file_len: usize) -> Result<Self, ModelError> {
        if raw.front_end != spec::FrontEndSpec::CURRENT
            || !raw.input.scale.same_value(&InputSpec::SCALE)
            || raw.input.zero_point != InputSpec::ZERO_POINT
            || raw.input.stack == 0
        {
            return Err(ModelError::FrontEndMismatch);
        }
        if raw.input.stack > MAX_STACK {
            return Err(ModelError::TooLarge { what: Limit::Stack });
        }
        let stack = usize::try_from(raw.input.stack)
            .map_err(|_| ModelError::TooLarge { what: Limit::Stack })?;
        for labels in [&raw.composers, &raw.instruments] {
            if labels.len > MAX_CLASSES {
                return Err(ModelError::TooLarge {
                    what: Limit::Classes,
                });
            }
            if labels.items.iter().any(|l| l.len() > MAX_LABEL_BYTES) {
                return Err(ModelError::TooLarge {
                    what: Limit::LabelBytes,
                });
            }
        }
        let input = Shape::new(frontend::BINS, frontend::WINDOW_FRAMES, stack);
        let composer = Network::validate(
            NetworkId::Composer,
            &raw.composer_network,
            input,
            raw.input.zero_point,
        )?;
        let instrument = Network::validate(
            NetworkId::Instruments,
            &raw.instrument_network,
            input,
            raw.input.zero_point,
        )?;
        for (network, labels) in [(&composer, &raw.composers), (&instrument, &raw.instruments)] {
            if network.classes != labels.len {
                return Err(ModelError::LabelCountMismatch {
                    network: network.id,
                    labels: labels.len,
                    outputs: network.classes,
                });
            }
        }
        Ok(Self {
            composers: raw.composers.items.clone(),
            instruments: raw.instruments.items.clone(),
            input,
            composer,
            instrument,
            file_len,
        })
    }

    /// Composer names, in output order.
    #[must_use]
    pub fn composers(&self) -> &[&'a str] {
        &self.composers
    }

    /// Instrument names, in output order.
    #[must_use]
    pub fn instruments(&self) -> &[&'a str] {
        &self.instruments
    }

    /// Number of windows stacked into one input.
    #[must_use]
    pub const fn stack(&self) -> usize {
        self.input.channels
    }

    /// Input length in bytes: `stack × BINS × WINDOW_FRAMES` feature codes.
    #[must_use]
    pub const fn input_len(&self) -> usize {
        self.input.len()
    }

    /// The composer network.
    #[must_use]
    pub const fn composer_network(&self) -> &Network<'a> {
        &self.composer
    }

    /// The instrument network.
    #[must_use]
    pub const fn instrument_network(&self) -> &Network<'a> {
        &self.instrument
    }

    /// Length of the model file in bytes.
    #[must_use]
    pub const fn file_len(&self) -> usize {
        self.file_len
    }
}

/// Reads the header of the model file at the start of `bytes` and returns the file's total
/// length, without checking the checksum or payload. For a model stored in a region larger than
/// itself: `Model::parse(&region[..file_len(region)?])`.
///
/// # Errors
/// [`ModelError::BadMagic`], [`ModelError::UnsupportedVersion`], [`ModelError::Truncated`] (also
/// when `bytes` is shorter than the file the header announces).
pub fn file_len(bytes: &[u8]) -> Result<usize, ModelError> {
    let prefix = bytes.get(..MAGIC.len()).unwrap_or(bytes);
    if !MAGIC.starts_with(prefix) {
        return Err(ModelError::BadMagic);
    }
    let header: &[u8; HEADER_LEN] = bytes.first_chunk().ok_or(ModelError::Truncated)?;
    let (_, rest) = header.split_at(MAGIC.len());
    let (version, length) = rest.split_at(2);
    let version = u16::from_le_bytes(version.try_into().map_err(|_| ModelError::Truncated)?);
    if version != FORMAT_VERSION {
        return Err(ModelError::UnsupportedVersion { found: version });
    }
    let payload = u32::from_le_bytes(length.try_into().map_err(|_| ModelError::Truncated)?);
    let total = usize::try_from(payload)
        .ok()
        .and_then(|n| n.checked_add(HEADER_LEN + CHECKSUM_LEN))
        .ok_or(ModelError::Truncated)?;
    if bytes.len() < total {
        return Err(ModelError::Truncated);
    }
    Ok(total)
}
