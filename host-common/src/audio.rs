//! The one audio path of the project: any common audio file → mono → 8 kHz → `i16`.
//!
//! The trainer and the CLI both call [`load_pcm_8k`], so a recording is turned into exactly the
//! same samples for training and for serving. The path has four stages, each also public so a
//! caller (or a test) can use one alone:
//!
//! 1. **Decode** ([`decode_mono`]): the container and codec are detected by symphonia's probe
//!    (WAV in every PCM/float flavour, FLAC, OGG/Vorbis, MP3, AIFF). Integer samples become
//!    `f32` by symphonia's conversion, which for 16-bit is exactly `s / 32768` (8-bit unsigned:
//!    `s / 128 - 1`, 24-bit: `s / 2^23`, 32-bit: `s / 2^31`).
//! 2. **Mix to mono**: the mean of all channels, frame by frame. Identical channels therefore
//!    mix to exactly that channel.
//! 3. **Resample** ([`resample_mono`]): rubato's synchronous FFT resampler, delay-compensated,
//!    with an output of exactly `round(n · to / from)` samples. When the rate already is
//!    [`TARGET_RATE_HZ`] nothing is done at all, so 8 kHz files pass bit-exact.
//! 4. **Quantize** ([`to_i16`]): `round(x · 32768)`, clamped to the `i16` range.
//!
//! # Cost
//!
//! [`load_pcm_8k`] streams: it decodes packet by packet and resamples as it goes, so it holds
//! only the 8 kHz result (about 19 MB of `f32` for ten minutes), never the full-rate signal.
//! For WAV, decoding and resampling cost about the same: ten minutes of 44.1 kHz stereo take
//! about 0.3 s in a release build (compressed formats add their decoder's time).
//!
//! # Limitations
//!
//! - Only the default audio track is read; chained OGG streams (a new stream layout in the
//!   middle of a file) are reported as a decode error rather than followed.
//! - Sample rates must lie in `1..=`[`MAX_RATE_HZ`].
//! - A packet that fails to decode stops the whole file with [`AudioError::Decode`]; nothing is
//!   skipped silently, so a corrupt recording never turns into a shorter one unnoticed.

use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};

use rubato::audioadapter_buffers::direct::InterleavedSlice;
use rubato::{Fft, FixedSync, Resampler, WindowFunction};
use symphonia::core::audio::GenericAudioBufferRef;
use symphonia::core::codecs::audio::{AudioCodecParameters, AudioDecoder};
use symphonia::core::errors::Error as SymphoniaError;
use symphonia::core::formats::probe::Hint;
use symphonia::core::formats::{FormatReader, TrackType};
use symphonia::core::io::MediaSourceStream;

/// Sample rate of everything this module returns, in Hz: the rate the front end expects.
pub const TARGET_RATE_HZ: u32 = core_nostd::frontend::SAMPLE_RATE_HZ;

/// Highest sample rate accepted, in Hz, on either side of the resampler.
///
/// The FFT resampler's block spans a quarter of a second or more (up to two seconds for rates
/// that share no factor with the target), so its memory grows with the rate; this bound keeps a
/// corrupt or hostile header from asking for gigabytes. 768 kHz is four times the highest rate
/// in common use.
pub const MAX_RATE_HZ: u32 = 768_000;

/// Scale between `i16` samples and `f32` samples: `i16` value `s` is `f32` value `s / 32768`.
const I16_SCALE: f32 = 32_768.0;

/// A recording as the front end eats it: mono, [`TARGET_RATE_HZ`], `i16`, plus what it was.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pcm8k {
    /// Mono samples at [`TARGET_RATE_HZ`]; never empty.
    pub samples: Vec<i16>,
    /// Sample rate of the decoded file, in Hz.
    pub source_rate_hz: u32,
    /// Number of channels of the decoded file, before mixing to mono.
    pub source_channels: usize,
    /// Number of frames (samples per channel) decoded from the file, at its own rate.
    pub source_frames: u64,
}

/// A decoded recording mixed to mono, still at its own sample rate.
#[derive(Debug, Clone, PartialEq)]
pub struct MonoAudio {
    /// Mono samples in `[-1, 1)` (float files may exceed it), one per source frame; never empty.
    pub samples: Vec<f32>,
    /// Sample rate, in Hz.
    pub rate_hz: u32,
    /// Number of channels in the file, before mixing to mono.
    pub channels: usize,
}

/// Why an audio file could not be turned into samples. Every variant names the file.
#[derive(Debug, thiserror::Error)]
pub enum AudioError {
    /// There is no file at the path.
    #[error("{}: no such file", .path.display())]
    NotFound {
        /// The file asked for.
        path: PathBuf,
    },
    /// The file exists but cannot be read (permissions, a directory, an I/O failure).
    #[error("{}: cannot read the file: {source}", .path.display())]
    Unreadable {
        /// The file asked for.
        path: PathBuf,
        /// What the operating system said.
        #[source]
        source: io::Error,
    },
    /// The file is not in any audio format this build understands (a text file, an image, ...).
    #[error("{}: not an audio file in a supported format ({reason})", .path.display())]
    NotAudio {
        /// The file asked for.
        path: PathBuf,
        /// What the format probe reported, in words.
        reason: String,
    },
    /// The file is a media container but holds no audio track.
    #[error("{}: the file holds no audio track", .path.display())]
    NoAudioTrack {
        /// The file asked for.
        path: PathBuf,
    },
    /// The audio track uses a codec or a layout this build cannot decode.
    #[error("{}: the audio track cannot be decoded: {reason}", .path.display())]
    Unsupported {
        /// The file asked for.
        path: PathBuf,
        /// What is unsupported, in words.
        reason: String,
    },
    /// Decoding stopped part-way through: corrupt data, a truncated file, or a read error.
    #[error(
        "{}: decoding failed after {frames_decoded} frames: {reason}",
        .path.display()
    )]
    Decode {
        /// The file asked for.
        path: PathBuf,
        /// How many frames had been decoded successfully before the failure.
        frames_decoded: u64,
        /// What went wrong, in words.
        reason: String,
    },
    /// The audio track decodes to no samples at all (or too few to make one 8 kHz sample).
    #[error(
        "{}: the file holds no audio ({frames_decoded} frames decoded, too few for one sample at {} Hz)",
        .path.display(),
        TARGET_RATE_HZ
    )]
    Empty {
        /// The file asked for.
        path: PathBuf,
        /// How many frames the file decoded to, at its own rate.
        frames_decoded: u64,
    },
    /// Resampling the decoded audio failed.
    #[error("{}: {source}", .path.display())]
    Resample {
        /// The file asked for.
        path: PathBuf,
        /// What the resampler reported.
        #[source]
        source: ResampleError,
    },
}

/// Why [`resample_mono`] refused or failed.
#[derive(Debug, thiserror::Error)]
pub enum ResampleError {
    /// A sample rate is zero or above [`MAX_RATE_HZ`].
    #[error(
        "cannot resample from {from_hz} Hz to {to_hz} Hz: sample rates must be between 1 and {} Hz",
        MAX_RATE_HZ
    )]
    RateOutOfRange {
        /// The rate of the input, in Hz.
        from_hz: u32,
        /// The rate asked for, in Hz.
        to_hz: u32,
    },
    /// The resampler library reported an error (a bug on our side, not bad data).
    #[error("resampling from {from_hz} Hz to {to_hz} Hz failed: {reason}")]
    Internal {
        /// The rate of the input, in Hz.
        from_hz: u32,
        /// The rate asked for, in Hz.
        to_hz: u32,
        /// What the library said.
        reason: String,
    },
}

/// Decodes, mixes to mono, resamples to [`TARGET_RATE_HZ`] and quantizes a whole file.
///
/// This is the audio path of the project; training and serving both use it. An 8 kHz file is
/// not resampled, so an 8 kHz 16-bit file comes back bit-exact.
///
/// Cost: one pass over the file, streaming; memory is the 8 kHz result (2 bytes per output
/// sample, plus 4 while it is built) and one resampler block. Ten minutes of 44.1 kHz stereo
/// 16-bit WAV take about 0.3 s in a release build.
///
/// # Errors
///
/// Any [`AudioError`]; see its variants. A file whose audio is shorter than one 8 kHz sample
/// gives [`AudioError::Empty`], so `samples` is never empty on success.
pub fn load_pcm_8k(path: &Path) -> Result<Pcm8k, AudioError> {
    let mut resampler: Option<StreamResampler> = None;
    let info = decode_stream(path, |rate_hz, mono| {
        let stage = match resampler.as_mut() {
            Some(stage) => stage,
            None => resampler.insert(StreamResampler::new(rate_hz, TARGET_RATE_HZ)?),
        };
        stage.push(mono)
    })
    .map_err(|err| err.with_path(path))?;
    let resampled = match resampler {
        Some(stage) => stage.finish().map_err(|source| AudioError::Resample {
            path: path.to_path_buf(),
            source,
        })?,
        None => Vec::new(),
    };
    if resampled.is_empty() {
        return Err(AudioError::Empty {
            path: path.to_path_buf(),
            frames_decoded: info.frames,
        });
    }
    Ok(Pcm8k {
        samples: to_i16(&resampled),
        source_rate_hz: info.rate_hz,
        source_channels: info.channels,
        source_frames: info.frames,
    })
}

/// Decodes a whole file and mixes it to mono (mean of the channels), at the file's own rate.
///
/// Cost: one pass over the file; memory is 4 bytes per source frame (about 106 MB for ten
/// minutes at 44.1 kHz). Prefer [`load_pcm_8k`], which streams, unless you need the full rate.
///
/// # Errors
///
/// Any [`AudioError`] but [`AudioError::Resample`]; an audio track with no frames gives
/// [`AudioError::Empty`], so `samples` is never empty on success.
pub fn decode_mono(path: &Path) -> Result<MonoAudio, AudioError> {
    let mut samples = Vec::new();
    let info = decode_stream(path, |_rate_hz, mono| {
        samples.extend_from_slice(mono);
        Ok(())
    })
    .map_err(|err| err.with_path(path))?;
    if samples.is_empty() {
        return Err(AudioError::Empty {
            path: path.to_path_buf(),
            frames_decoded: 0,
        });
    }
    Ok(MonoAudio {
        samples,
        rate_hz: info.rate_hz,
        channels: info.channels,
    })
}

/// Resamples mono audio from `from_hz` to `to_hz`, returning exactly
/// `round(samples.len() · to_hz / from_hz)` samples (halves round up), time-aligned with the
/// input: input sample `i` and output sample `i · to_hz / from_hz` are the same instant.
///
/// Equal rates return a copy of the input, untouched. Otherwise rubato's synchronous FFT
/// resampler runs over the input in blocks of a quarter of a second or more, its start-up
/// delay is dropped, and the tail is flushed with silence. The anti-aliasing filter is a
/// windowed sinc as long as one block (Blackman-Harris², cutoff within a fraction of a percent
/// of the lower Nyquist frequency): at 44.1 kHz → 8 kHz a 3.9 kHz tone keeps its level to
/// within 0.001 dB and a 5 kHz tone, which would alias, comes out about 140 dB down.
///
/// Cost: per block of `B` input frames, one real FFT of `2B` and one inverse of `2B · to/from`,
/// so `O(log B)` per sample: about 16 ms per minute of 44.1 kHz audio in a release build (odd
/// rates such as 44101 Hz need longer blocks and take about twice that). Memory: the output
/// plus a few blocks.
///
/// # Errors
///
/// [`ResampleError::RateOutOfRange`] when a rate is zero or above [`MAX_RATE_HZ`].
pub fn resample_mono(samples: &[f32], from_hz: u32, to_hz: u32) -> Result<Vec<f32>, ResampleError> {
    let mut stage = StreamResampler::new(from_hz, to_hz)?;
    stage.push(samples)?;
    stage.finish()
}

/// Quantizes `f32` samples to `i16`: `round(x · 32768)` (halves away from zero), clamped to
/// `[-32768, 32767]`; NaN becomes 0 and infinities clamp. The inverse of the decoder's
/// `s / 32768`, so `i16 → f32 → i16` is exact.
///
/// Cost: one pass, one allocation of the output.
pub fn to_i16(samples: &[f32]) -> Vec<i16> {
    samples.iter().map(|&x| sample_to_i16(x)).collect()
}

/// One sample of [`to_i16`].
fn sample_to_i16(x: f32) -> i16 {
    if x.is_nan() {
        return 0;
    }
    // After the clamp the value is an integer in the i16 range, so the cast is exact.
    (x * I16_SCALE)
        .round()
        .clamp(f32::from(i16::MIN), f32::from(i16::MAX)) as i16
}

// ---------------------------------------------------------------------------------------------
// Decoding
// ---------------------------------------------------------------------------------------------

/// What [`decode_stream`] learnt about the file.
struct StreamInfo {
    rate_hz: u32,
    channels: usize,
    frames: u64,
}

/// An [`AudioError`] before the path is attached, so the decoding helpers need not carry it.
enum DecodeFailure {
    NotFound,
    Unreadable(io::Error),
    NotAudio(String),
    NoAudioTrack,
    Unsupported(String),
    Decode { frames_decoded: u64, reason: String },
    Resample(ResampleError),
}

impl DecodeFailure {
    /// Names the file.
    fn with_path(self, path: &Path) -> AudioError {
        let path = path.to_path_buf();
        match self {
            Self::NotFound => AudioError::NotFound { path },
            Self::Unreadable(source) => AudioError::Unreadable { path, source },
            Self::NotAudio(reason) => AudioError::NotAudio { path, reason },
            Self::NoAudioTrack => AudioError::NoAudioTrack { path },
            Self::Unsupported(reason) => AudioError::Unsupported { path, reason },
            Self::Decode {
                frames_decoded,
                reason,
            } => AudioError::Decode {
                path,
                frames_decoded,
                reason,
            },
            Self::Resample(source) => AudioError::Resample { path, source },
        }
    }
}

impl From<ResampleError> for DecodeFailure {
    fn from(err: ResampleError) -> Self {
        Self::Resample(err)
    }
}

/// Decodes the default audio track of `path`, handing each packet, mixed to mono, to `sink`
/// together with the sample rate.
fn decode_stream<F>(path: &Path, mut sink: F) -> Result<StreamInfo, DecodeFailure>
where
    F: FnMut(u32, &[f32]) -> Result<(), ResampleError>,
{
    let mut format = open_format(path)?;
    let track = select_track(format.as_ref())?;
    let mut decoder = make_decoder(&track.params)?;

    let mut planes: Vec<Vec<f32>> = Vec::new();
    let mut mono: Vec<f32> = Vec::new();
    let mut channels: Option<usize> = None;
    let mut frames: u64 = 0;
    let fail = |frames_decoded: u64, reason: String| DecodeFailure::Decode {
        frames_decoded,
        reason,
    };

    while let Some(packet) = next_packet(format.as_mut(), &track, frames)? {
        let buffer = decoder
            .decode(&packet)
            .map_err(|err| fail(frames, format!("corrupt audio data ({err})")))?;
        if buffer.frames() == 0 {
            continue;
        }
        check_layout(&buffer, track.rate_hz, &mut channels)
            .map_err(|reason| fail(frames, reason))?;
        mix_to_mono(&buffer, &mut planes, &mut mono);
        sink(track.rate_hz, &mono)?;
        frames += mono.len() as u64;
    }
    Ok(StreamInfo {
        rate_hz: track.rate_hz,
        channels: channels.unwrap_or(0),
        frames,
    })
}

/// Opens `path` and detects its container format.
fn open_format(path: &Path) -> Result<Box<dyn FormatReader>, DecodeFailure> {
    let file = open_file(path)?;
    let stream = MediaSourceStream::new(Box::new(file), Default::default());
    let mut hint = Hint::new();
    if let Some(ext) = path.extension().and_then(|ext| ext.to_str()) {
        hint.with_extension(ext);
    }
    symphonia::default::get_probe()
        .probe(&hint, stream, Default::default(), Default::default())
        .map_err(|err| match err {
            SymphoniaError::IoError(io_err) if io_err.kind() != io::ErrorKind::UnexpectedEof => {
                DecodeFailure::Unreadable(io_err)
            }
            SymphoniaError::IoError(_) => DecodeFailure::NotAudio(
                "it ends before any known format could be recognized".into(),
            ),
            SymphoniaError::Unsupported(_) => {
                DecodeFailure::NotAudio("its content matches no known format".into())
            }
            other => DecodeFailure::NotAudio(other.to_string()),
        })
}

/// Opens `path` for reading, telling a missing file, an unreadable one and an empty one apart.
fn open_file(path: &Path) -> Result<File, DecodeFailure> {
    let file = File::open(path).map_err(|err| match err.kind() {
        io::ErrorKind::NotFound => DecodeFailure::NotFound,
        _ => DecodeFailure::Unreadable(err),
    })?;
    let meta = file.metadata().map_err(DecodeFailure::Unreadable)?;
    if meta.is_dir() {
        return Err(DecodeFailure::Unreadable(io::Error::new(
            io::ErrorKind::IsADirectory,
            "it is a directory, not a file",
        )));
    }
    if meta.len() == 0 {
        return Err(DecodeFailure::NotAudio("the file is empty".into()));
    }
    Ok(file)
}

/// The audio track chosen for decoding, with what the decode loop needs to know about it.
struct SelectedTrack {
    id: u32,
    params: AudioCodecParameters,
    rate_hz: u32,
    /// Frames the container declares, when it does.
    declared_frames: Option<u64>,
}

/// Picks the container's default audio track and checks its sample rate.
fn select_track(format: &dyn FormatReader) -> Result<SelectedTrack, DecodeFailure> {
    let track = format
        .default_track(TrackType::Audio)
        .ok_or(DecodeFailure::NoAudioTrack)?;
    let params = track
        .codec_params
        .as_ref()
        .and_then(|params| params.audio())
        .ok_or(DecodeFailure::NoAudioTrack)?
        .clone();
    let rate_hz = match params.sample_rate {
        Some(rate) if (1..=MAX_RATE_HZ).contains(&rate) => rate,
        Some(rate) => {
            return Err(DecodeFailure::Unsupported(format!(
                "sample rate {rate} Hz is outside 1..={MAX_RATE_HZ} Hz"
            )));
        }
        None => {
            return Err(DecodeFailure::Unsupported(
                "the sample rate is not declared".into(),
            ));
        }
    };
    Ok(SelectedTrack {
        id: track.id,
        params,
        rate_hz,
        declared_frames: track.num_frames,
    })
}

/// Makes a decoder for the track's codec.
fn make_decoder(params: &AudioCodecParameters) -> Result<Box<dyn AudioDecoder>, DecodeFailure> {
    symphonia::default::get_codecs()
        .make_audio_decoder(params, &Default::default())
        .map_err(|err| DecodeFailure::Unsupported(err.to_string()))
}

/// The next packet of the selected track, or `None` at the end of the stream.
///
/// An early end of file is the end of the stream when the container does not declare its length
/// (streamed WAV, for instance), and a truncated file when it declares more frames than were
/// read.
fn next_packet(
    format: &mut dyn FormatReader,
    track: &SelectedTrack,
    frames_decoded: u64,
) -> Result<Option<symphonia::core::packet::Packet>, DecodeFailure> {
    let fail = |reason: String| DecodeFailure::Decode {
        frames_decoded,
        reason,
    };
    loop {
        match format.next_packet() {
            Ok(Some(packet)) if packet.track_id == track.id => return Ok(Some(packet)),
            Ok(Some(_)) => continue,
            Ok(None) => return Ok(None),
            Err(SymphoniaError::IoError(err)) if err.kind() == io::ErrorKind::UnexpectedEof => {
                return match track.declared_frames {
                    Some(declared) if declared > frames_decoded => Err(fail(format!(
                        "the file ends early: its header declares {declared} frames (truncated file?)"
                    ))),
                    _ => Ok(None),
                };
            }
            Err(SymphoniaError::ResetRequired) => {
                return Err(fail(
                    "the stream changes its layout mid-file (a chained stream), which is not supported"
                        .into(),
                ));
            }
            Err(SymphoniaError::IoError(err)) => return Err(fail(format!("read error ({err})"))),
            Err(err) => return Err(fail(format!("corrupt container data ({err})"))),
        }
    }
}

/// Checks that a decoded buffer has the track's rate and the channel count seen so far.
fn check_layout(
    buffer: &GenericAudioBufferRef<'_>,
    rate_hz: u32,
    channels: &mut Option<usize>,
) -> Result<(), String> {
    let rate = buffer.spec().rate();
    if rate != rate_hz {
        return Err(format!(
            "the sample rate changes mid-stream from {rate_hz} Hz to {rate} Hz"
        ));
    }
    let planes = buffer.num_planes();
    if planes == 0 {
        return Err("a decoded packet has no channels".into());
    }
    match *channels {
        None => *channels = Some(planes),
        Some(seen) if seen != planes => {
            return Err(format!(
                "the channel count changes mid-stream from {seen} to {planes}"
            ));
        }
        Some(_) => {}
    }
    Ok(())
}

/// Mixes a decoded buffer to mono (mean of its channels) into `mono`, using `planes` as scratch.
fn mix_to_mono(
    buffer: &GenericAudioBufferRef<'_>,
    planes: &mut Vec<Vec<f32>>,
    mono: &mut Vec<f32>,
) {
    buffer.copy_to_vecs_planar::<f32>(planes);
    mono.clear();
    match planes.as_slice() {
        [] => {}
        [only] => mono.extend_from_slice(only),
        [first, rest @ ..] => {
            mono.extend_from_slice(first);
            for plane in rest {
                mono.iter_mut().zip(plane).for_each(|(acc, &x)| *acc += x);
            }
            let count = planes.len() as f32;
            mono.iter_mut().for_each(|acc| *acc /= count);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Resampling
// ---------------------------------------------------------------------------------------------

/// Smallest FFT block on the output side, in frames (a quarter of a second at 8 kHz).
///
/// The filter is as long as the block, so a longer block gives a sharper anti-aliasing filter:
/// rubato's cutoff for a block of `n` output frames is about `1 - 13.7/n` of the output
/// Nyquist frequency, 99.3 % (3973 Hz at 8 kHz) for 2048 frames. The start-up delay (half a
/// block) is dropped, so it costs only the flush at the end.
const MIN_BLOCK_OUT: usize = 2048;

/// Mono resampler fed in pieces: the one implementation behind [`resample_mono`] and
/// [`load_pcm_8k`].
///
/// Why rubato's synchronous FFT resampler: the ratio is fixed, and for a fixed ratio it is the
/// fastest of rubato's resamplers at the quality of its best sinc resampler, and the ratio is
/// exact (the asynchronous resamplers work with a floating-point ratio). Why not hand the whole
/// clip to `process_all`: it needs the full-rate signal in memory, while this streams.
struct StreamResampler {
    from_hz: u32,
    to_hz: u32,
    /// `None` when the rates are equal: samples pass through untouched.
    fft: Option<FftStage>,
    /// Input frames pushed so far.
    consumed: u64,
    /// Output produced so far, delay already dropped.
    output: Vec<f32>,
}

/// The FFT resampler and its buffers; only built when the rates differ.
struct FftStage {
    resampler: Fft<f32>,
    /// Input frames per call (one FFT block).
    block_in: usize,
    /// Input not yet processed, always shorter than `block_in` between calls.
    pending: Vec<f32>,
    /// One block of output.
    block_out: Vec<f32>,
    /// Output frames still to drop to compensate the resampler's delay.
    to_skip: usize,
}

impl StreamResampler {
    /// Makes a resampler from `from_hz` to `to_hz`.
    fn new(from_hz: u32, to_hz: u32) -> Result<Self, ResampleError> {
        let valid = 1..=MAX_RATE_HZ;
        if !valid.contains(&from_hz) || !valid.contains(&to_hz) {
            return Err(ResampleError::RateOutOfRange { from_hz, to_hz });
        }
        let fft = if from_hz == to_hz {
            None
        } else {
            Some(FftStage::new(from_hz, to_hz)?)
        };
        Ok(Self {
            from_hz,
            to_hz,
            fft,
            consumed: 0,
            output: Vec::new(),
        })
    }

    /// Feeds the next input samples; output is produced whenever a block is complete.
    fn push(&mut self, input: &[f32]) -> Result<(), ResampleError> {
        self.consumed += input.len() as u64;
        match self.fft.as_mut() {
            None => self.output.extend_from_slice(input),
            Some(stage) => stage
                .push(input, &mut self.output)
                .map_err(|reason| self.internal(reason))?,
        }
        Ok(())
    }

    /// Flushes the tail and returns exactly `round(consumed · to / from)` samples.
    fn finish(mut self) -> Result<Vec<f32>, ResampleError> {
        let wanted = output_len(self.consumed, self.from_hz, self.to_hz);
        if let Some(stage) = self.fft.as_mut() {
            while self.output.len() < wanted {
                if let Err(reason) = stage.flush_block(&mut self.output) {
                    return Err(self.internal(reason));
                }
            }
        }
        self.output.truncate(wanted);
        Ok(self.output)
    }

    /// Wraps a library error message.
    fn internal(&self, reason: String) -> ResampleError {
        ResampleError::Internal {
            from_hz: self.from_hz,
            to_hz: self.to_hz,
            reason,
        }
    }
}

impl FftStage {
    /// Builds an FFT resampler whose block holds at least [`MIN_BLOCK_OUT`] output frames.
    fn new(from_hz: u32, to_hz: u32) -> Result<Self, ResampleError> {
        let (from, to) = (from_hz as usize, to_hz as usize);
        let internal = |reason: String| ResampleError::Internal {
            from_hz,
            to_hz,
            reason,
        };
        // Blocks come in multiples of the smallest block that maps whole input frames onto whole
        // output frames. An even multiple makes both block sizes even, so rubato's filter centre
        // (half an input block) falls exactly on its reported delay (half an output block).
        let divisor = gcd(from, to);
        let (unit_in, unit_out) = (from / divisor, to / divisor);
        let units = MIN_BLOCK_OUT.div_ceil(unit_out).next_multiple_of(2);
        let block_in = units * unit_in;
        let resampler = Fft::<f32>::new_custom(
            from,
            to,
            block_in,
            1,
            1,
            WindowFunction::BlackmanHarris2,
            FixedSync::Both,
        )
        .map_err(|err| internal(err.to_string()))?;
        if resampler.input_frames_next() != block_in {
            return Err(internal(format!(
                "unexpected block size {} (wanted {block_in})",
                resampler.input_frames_next()
            )));
        }
        let block_out = vec![0.0; resampler.output_frames_max()];
        let to_skip = resampler.output_delay();
        Ok(Self {
            resampler,
            block_in,
            pending: Vec::with_capacity(block_in),
            block_out,
            to_skip,
        })
    }

    /// Buffers `input`, resampling every complete block into `output`.
    fn push(&mut self, mut input: &[f32], output: &mut Vec<f32>) -> Result<(), String> {
        while !input.is_empty() {
            let take = (self.block_in - self.pending.len()).min(input.len());
            self.pending.extend_from_slice(&input[..take]);
            input = &input[take..];
            if self.pending.len() == self.block_in {
                self.process_pending(output)?;
            }
        }
        Ok(())
    }

    /// Pads what is pending with silence to a whole block and resamples it into `output`.
    fn flush_block(&mut self, output: &mut Vec<f32>) -> Result<(), String> {
        self.pending.resize(self.block_in, 0.0);
        self.process_pending(output)
    }

    /// Resamples the one full block in `pending` and appends it to `output`, minus the part of
    /// the start-up delay still to drop.
    fn process_pending(&mut self, output: &mut Vec<f32>) -> Result<(), String> {
        let capacity = self.block_out.len();
        let input =
            InterleavedSlice::new(&self.pending, 1, self.block_in).map_err(|e| e.to_string())?;
        let mut out = InterleavedSlice::new_mut(&mut self.block_out, 1, capacity)
            .map_err(|e| e.to_string())?;
        let (_, written) = self
            .resampler
            .process_into_buffer(&input, &mut out, None)
            .map_err(|e| e.to_string())?;
        let skip = self.to_skip.min(written);
        self.to_skip -= skip;
        output.extend_from_slice(&self.block_out[skip..written]);
        self.pending.clear();
        Ok(())
    }
}

/// `round(frames · to / from)`, halves rounded up, in exact integer arithmetic.
fn output_len(frames: u64, from_hz: u32, to_hz: u32) -> usize {
    let (frames, from, to) = (u128::from(frames), u128::from(from_hz), u128::from(to_hz));
    let len = (2 * frames * to + from) / (2 * from);
    usize::try_from(len).unwrap_or(usize::MAX)
}

/// Greatest common divisor.
fn gcd(mut a: usize, mut b: usize) -> usize {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}
