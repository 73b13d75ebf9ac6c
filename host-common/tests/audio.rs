//! Tests of the shared audio path, `host_common::audio`: every WAV flavour decodes to the right
//! samples, 8 kHz passes bit-exact, resampling keeps pitch, level and timing and removes what
//! would alias, and every failure names the file and says what is wrong.
//!
//! Fixtures are written with `hound` into a fresh folder under the system temp dir.

use std::f64::consts::PI;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use host_common::audio::{
    AudioError, MAX_RATE_HZ, ResampleError, TARGET_RATE_HZ, decode_mono, load_pcm_8k,
    resample_mono, to_i16,
};

// ---------------------------------------------------------------------------------------------
// Fixtures
// ---------------------------------------------------------------------------------------------

/// A folder of its own under the temp dir, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> Self {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let unique = format!(
            "host-cli-audio-{}-{}-{name}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let dir = std::env::temp_dir().join(unique);
        fs::create_dir_all(&dir).expect("create temp dir");
        Self(dir)
    }

    fn path(&self, file: &str) -> PathBuf {
        self.0.join(file)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// Writes integer frames (`frames[i][channel]`) as a WAV of `bits` bits per sample.
fn write_wav_int(path: &Path, rate: u32, bits: u16, frames: &[Vec<i32>]) {
    let spec = hound::WavSpec {
        channels: frames[0].len() as u16,
        sample_rate: rate,
        bits_per_sample: bits,
        sample_format: hound::SampleFormat::Int,
    };
    let mut writer = hound::WavWriter::create(path, spec).expect("create wav");
    for frame in frames {
        for &s in frame {
            if bits == 8 {
                writer.write_sample(s as i8).expect("write sample");
            } else {
                writer.write_sample(s).expect("write sample");
            }
        }
    }
    writer.finalize().expect("finalize wav");
}

/// Writes float frames as a 32-bit float WAV.
fn write_wav_f32(path: &Path, rate: u32, frames: &[Vec<f32>]) {
    let spec = hound::WavSpec {
        channels: frames[0].len() as u16,
        sample_rate: rate,
        bits_per_sample: 32,
        sample_format: hound::SampleFormat::Float,
    };
    let mut writer = hound::WavWriter::create(path, spec).expect("create wav");
    for frame in frames {
        for &s in frame {
            writer.write_sample(s).expect("write sample");
        }
    }
    writer.finalize().expect("finalize wav");
}

/// Writes a mono signal in `[-1, 1)` as 16-bit WAV with `channels` identical channels.
fn write_wav_16_signal(path: &Path, rate: u32, channels: usize, signal: &[f64]) {
    let frames: Vec<Vec<i32>> = signal
        .iter()
        .map(|&x| vec![(x * 32768.0).round().clamp(-32768.0, 32767.0) as i32; channels])
        .collect();
    write_wav_int(path, rate, 16, &frames);
}

/// Deterministic pseudo-random integers in `[lo, hi]` (a 64-bit LCG).
fn pseudo_random(seed: u64, n: usize, lo: i64, hi: i64) -> Vec<i64> {
    let mut state = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    (0..n)
        .map(|_| {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            lo + ((state >> 33) % (hi - lo + 1) as u64) as i64
        })
        .collect()
}

/// `n` samples of a sine of `freq` Hz and amplitude `amp` at `rate` Hz.
fn sine(freq: f64, rate: u32, n: usize, amp: f64) -> Vec<f64> {
    (0..n)
        .map(|i| amp * (2.0 * PI * freq * i as f64 / f64::from(rate)).sin())
        .collect()
}

/// What the loader must return for integer frames of `bits` bits: the mean of the channels
/// scaled to `i16` (`s / 2^(bits-1) · 32768`), rounded half away from zero, clamped.
fn expected_i16(frames: &[Vec<i32>], bits: u32) -> Vec<i16> {
    let full_scale = f64::from(1u32 << (bits - 1));
    frames
        .iter()
        .map(|frame| {
            let mean = frame.iter().map(|&s| f64::from(s)).sum::<f64>() / frame.len() as f64;
            (mean / full_scale * 32768.0)
                .round()
                .clamp(-32768.0, 32767.0) as i16
        })
        .collect()
}

/// Integer test frames for `bits`: the extremes, zero and ±1 first, then pseudo-random values.
///
/// Above 16 bits the low bits stay within ±1/4 of an `i16` step, so float rounding inside the
/// decoder can never move a value across a rounding boundary of the expected result.
fn int_frames(bits: u32, channels: usize, n: usize) -> Vec<Vec<i32>> {
    let max = (1i64 << (bits - 1)) - 1;
    let min = -(1i64 << (bits - 1));
    let step = 1i64 << bits.saturating_sub(16);
    let columns: Vec<Vec<i64>> = (0..channels)
        .map(|ch| {
            let coarse = pseudo_random(ch as u64 + u64::from(bits), n, -32768, 32767);
            let fine = pseudo_random(ch as u64 + 100, n, -step / 4, step / 4);
            let mut column: Vec<i64> = coarse
                .iter()
                .zip(&fine)
                .map(|(&c, &f)| (c * step + f).clamp(min, max))
                .collect();
            let fixed = [max, min, 0, 1, -1];
            for (slot, &value) in column.iter_mut().zip(fixed.iter().skip(ch % 2)) {
                *slot = value;
            }
            column
        })
        .collect();
    (0..n)
        .map(|i| {
            let mut frame: Vec<i64> = columns.iter().map(|column| column[i]).collect();
            if bits > 16 {
                keep_mean_off_rounding_boundary(&mut frame, step);
            }
            frame.iter().map(|&s| s as i32).collect()
        })
        .collect()
}

/// Nudges the first channel until the channel mean, in `i16` steps of `step`, is at least 0.05
/// from a rounding boundary (`k + 0.5`). The decoder works in `f32`, whose rounding error is far
/// below that, so the expected value computed exactly in `f64` is then the only right answer.
fn keep_mean_off_rounding_boundary(frame: &mut [i64], step: i64) {
    let channels = frame.len() as i64;
    // A fifth of a step on the mean, moving towards zero so the sample stays in range.
    let toward_zero = if frame[0] > 0 { -1 } else { 1 };
    let nudge = toward_zero * (step * channels / 5).max(1);
    loop {
        let mean = frame.iter().sum::<i64>() as f64 / channels as f64 / step as f64;
        if (mean - mean.floor() - 0.5).abs() >= 0.05 {
            return;
        }
        frame[0] += nudge;
    }
}

/// Writes integer frames at 8 kHz and checks that loading gives exactly the expected samples.
fn check_int_flavour(bits: u16, channels: usize) {
    let dir = TempDir::new("flavour");
    let path = dir.path(&format!("int{bits}_{channels}ch.wav"));
    let frames = int_frames(u32::from(bits), channels, 1000);
    write_wav_int(&path, TARGET_RATE_HZ, bits, &frames);

    let pcm = load_pcm_8k(&path).expect("load");
    assert_eq!(pcm.source_rate_hz, TARGET_RATE_HZ);
    assert_eq!(pcm.source_channels, channels);
    assert_eq!(pcm.source_frames, 1000);
    assert_same_samples(&pcm.samples, &expected_i16(&frames, u32::from(bits)), &path);
}

/// Asserts equal sample vectors, reporting the first difference rather than both vectors.
fn assert_same_samples(got: &[i16], want: &[i16], path: &Path) {
    assert_eq!(got.len(), want.len(), "{}: length", path.display());
    if let Some(i) = (0..got.len()).find(|&i| got[i] != want[i]) {
        panic!(
            "{}: sample {i} is {}, want {}",
            path.display(),
            got[i],
            want[i]
        );
    }
}

/// Float test frames: the extremes and values between `i16` steps, pseudo-random.
fn float_frames(channels: usize, n: usize) -> Vec<Vec<f32>> {
    let columns: Vec<Vec<f32>> = (0..channels)
        .map(|ch| {
            pseudo_random(ch as u64 + 7, n, -1_000_000, 1_000_000)
                .iter()
                .map(|&v| v as f32 / 1_000_000.0)
                .collect()
        })
        .collect();
    (0..n)
        .map(|i| columns.iter().map(|column| column[i]).collect())
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Signal measurements
// ---------------------------------------------------------------------------------------------

/// Amplitude of the `freq` Hz component of `x` (sampled at `rate`), by a single-bin DFT.
/// Exact for a sine when `x` spans a whole number of its periods.
fn tone_amplitude(x: &[f64], freq: f64, rate: f64) -> f64 {
    let (mut re, mut im) = (0.0, 0.0);
    for (n, &v) in x.iter().enumerate() {
        let phase = 2.0 * PI * freq * n as f64 / rate;
        re += v * phase.cos();
        im += v * phase.sin();
    }
    2.0 * (re * re + im * im).sqrt() / x.len() as f64
}

/// Frequency of a sine, from its rising zero crossings (linearly interpolated).
fn zero_crossing_frequency(x: &[f64], rate: f64) -> f64 {
    let crossings: Vec<f64> = x
        .windows(2)
        .enumerate()
        .filter(|(_, w)| w[0] < 0.0 && w[1] >= 0.0)
        .map(|(i, w)| i as f64 + w[0] / (w[0] - w[1]))
        .collect();
    assert!(crossings.len() > 10, "too few zero crossings");
    let span = crossings[crossings.len() - 1] - crossings[0];
    (crossings.len() - 1) as f64 * rate / span
}

fn rms(x: &[f64]) -> f64 {
    (x.iter().map(|v| v * v).sum::<f64>() / x.len() as f64).sqrt()
}

fn db(ratio: f64) -> f64 {
    20.0 * ratio.log10()
}

fn i16_to_f64(x: &[i16]) -> Vec<f64> {
    x.iter().map(|&s| f64::from(s) / 32768.0).collect()
}

fn f32_to_f64(x: &[f32]) -> Vec<f64> {
    x.iter().map(|&s| f64::from(s)).collect()
}

/// Index of the sample of largest magnitude.
fn peak_index(x: &[f32]) -> usize {
    x.iter()
        .enumerate()
        .max_by(|a, b| a.1.abs().total_cmp(&b.1.abs()))
        .map(|(i, _)| i)
        .expect("non-empty")
}

/// `round(n · to / from)`, the length the resampler promises.
fn promised_len(n: usize, from: u32, to: u32) -> usize {
    (n as f64 * f64::from(to) / f64::from(from)).round() as usize
}

// ---------------------------------------------------------------------------------------------
// WAV flavours and exactness
// ---------------------------------------------------------------------------------------------

#[test]
fn wav_16_bit_mono_at_8k_is_bit_exact() {
    let dir = TempDir::new("exact");
    let path = dir.path("exact.wav");
    let mut samples: Vec<i32> = (-32768..=32767).step_by(7).collect();
    samples.extend([i32::from(i16::MIN), i32::from(i16::MAX), 0, 1, -1]);
    let frames: Vec<Vec<i32>> = samples.iter().map(|&s| vec![s]).collect();
    write_wav_int(&path, 8000, 16, &frames);

    let pcm = load_pcm_8k(&path).expect("load");
    let want: Vec<i16> = samples.iter().map(|&s| s as i16).collect();
    assert_same_samples(&pcm.samples, &want, &path);
    assert_eq!(pcm.source_frames, samples.len() as u64);
}

#[test]
fn wav_16_bit_stereo_with_identical_channels_at_8k_is_bit_exact() {
    let dir = TempDir::new("exact-stereo");
    let path = dir.path("exact_stereo.wav");
    let samples: Vec<i32> = (-32768..=32767).step_by(5).collect();
    let frames: Vec<Vec<i32>> = samples.iter().map(|&s| vec![s, s]).collect();
    write_wav_int(&path, 8000, 16, &frames);

    let pcm = load_pcm_8k(&path).expect("load");
    let want: Vec<i16> = samples.iter().map(|&s| s as i16).collect();
    assert_same_samples(&pcm.samples, &want, &path);
    assert_eq!(pcm.source_channels, 2);
}

#[test]
fn wav_8_bit_mono_and_stereo() {
    check_int_flavour(8, 1);
    check_int_flavour(8, 2);
}

#[test]
fn wav_16_bit_mono_and_stereo_mix_to_the_mean() {
    check_int_flavour(16, 1);
    check_int_flavour(16, 2);
}

#[test]
fn wav_24_bit_mono_and_stereo() {
    check_int_flavour(24, 1);
    check_int_flavour(24, 2);
}

#[test]
fn wav_32_bit_int_mono_and_stereo() {
    check_int_flavour(32, 1);
    check_int_flavour(32, 2);
}

#[test]
fn wav_with_more_than_two_channels_mixes_to_the_mean() {
    check_int_flavour(16, 3);
    check_int_flavour(24, 6);
}

#[test]
fn wav_32_bit_float_mono_and_stereo() {
    for channels in [1, 2] {
        let dir = TempDir::new("float");
        let path = dir.path(&format!("f32_{channels}ch.wav"));
        let frames = float_frames(channels, 1000);
        write_wav_f32(&path, TARGET_RATE_HZ, &frames);

        let pcm = load_pcm_8k(&path).expect("load");
        let want: Vec<i16> = frames
            .iter()
            .map(|frame| {
                let mean = frame.iter().map(|&s| f64::from(s)).sum::<f64>() / channels as f64;
                (mean * 32768.0).round().clamp(-32768.0, 32767.0) as i16
            })
            .collect();
        assert_same_samples(&pcm.samples, &want, &path);
        assert_eq!(pcm.source_channels, channels);
    }
}

#[test]
fn decode_mono_keeps_the_source_rate_and_mixes_channels() {
    let dir = TempDir::new("decode");
    let path = dir.path("stereo_22050.wav");
    let frames: Vec<Vec<i32>> = (0..5000).map(|i| vec![i, -i / 2]).collect();
    write_wav_int(&path, 22050, 16, &frames);

    let mono = decode_mono(&path).expect("decode");
    assert_eq!(mono.rate_hz, 22050);
    assert_eq!(mono.channels, 2);
    let want: Vec<f32> = frames
        .iter()
        .map(|f| (f[0] as f32 / 32768.0 + f[1] as f32 / 32768.0) / 2.0)
        .collect();
    assert_eq!(mono.samples, want);
}

// ---------------------------------------------------------------------------------------------
// Resampling
// ---------------------------------------------------------------------------------------------

/// A 440 Hz sine at `rate`, 16-bit stereo, loaded: length, pitch and level must survive.
fn check_sine_440(rate: u32) {
    let dir = TempDir::new("sine");
    let path = dir.path(&format!("sine440_{rate}.wav"));
    let n = 3 * rate as usize;
    write_wav_16_signal(&path, rate, 2, &sine(440.0, rate, n, 0.5));

    let pcm = load_pcm_8k(&path).expect("load");
    assert_eq!(pcm.source_rate_hz, rate);
    assert_eq!(pcm.samples.len(), promised_len(n, rate, 8000));

    // Measure on the middle second: a whole number (440) of periods at 8 kHz.
    let y = i16_to_f64(&pcm.samples);
    let middle = &y[8000..16000];
    let freq = zero_crossing_frequency(middle, 8000.0);
    assert!(
        (freq - 440.0).abs() < 0.05,
        "{rate} Hz: frequency {freq} Hz"
    );
    let level = db(tone_amplitude(middle, 440.0, 8000.0) / 0.5);
    assert!(level.abs() < 0.5, "{rate} Hz: level off by {level:.3} dB");
    // The edges hold the tone too: no start-up silence, no missing tail.
    assert!(rms(&y[..400]) > 0.3, "{rate} Hz: start is silent");
    assert!(rms(&y[y.len() - 400..]) > 0.3, "{rate} Hz: tail is silent");
}

#[test]
fn sine_440_hz_at_44100_keeps_length_pitch_and_level() {
    check_sine_440(44100);
}

#[test]
fn sine_440_hz_at_48000_keeps_length_pitch_and_level() {
    check_sine_440(48000);
}

/// Rates the loader must handle, odd ones and upsampling included.
const RATES: [u32; 9] = [6000, 11025, 12345, 16000, 22050, 44100, 48000, 96000, 8001];

#[test]
fn a_click_at_one_second_lands_on_output_sample_8000_at_every_rate() {
    for rate in RATES {
        let n = 2 * rate as usize + 123;
        let mut x = vec![0.0f32; n];
        x[rate as usize] = 0.9;
        let y = resample_mono(&x, rate, 8000).expect("resample");
        assert_eq!(y.len(), promised_len(n, rate, 8000), "{rate} Hz");
        let peak = peak_index(&y);
        assert!(
            peak.abs_diff(8000) <= 2,
            "{rate} Hz: click at output sample {peak}, want 8000 ± 2"
        );
    }
}

#[test]
fn a_click_in_a_44100_hz_file_lands_on_output_sample_8000() {
    let dir = TempDir::new("click");
    let path = dir.path("click.wav");
    let mut frames = vec![vec![0i32, 0]; 2 * 44100];
    frames[44100] = vec![30000, 30000];
    write_wav_int(&path, 44100, 16, &frames);

    let pcm = load_pcm_8k(&path).expect("load");
    let y: Vec<f32> = pcm.samples.iter().map(|&s| f32::from(s)).collect();
    let peak = peak_index(&y);
    assert!(peak.abs_diff(8000) <= 2, "click at {peak}");
}

#[test]
fn a_step_onset_is_time_aligned() {
    // Silence, then a DC level from exactly t = 1 s: the output crosses half the level at 8000.
    for rate in [44100, 48000, 12345] {
        let n = 2 * rate as usize;
        let x: Vec<f32> = (0..n)
            .map(|i| if i >= rate as usize { 0.5 } else { 0.0 })
            .collect();
        let y = resample_mono(&x, rate, 8000).expect("resample");
        let half = y
            .iter()
            .position(|&v| v >= 0.25)
            .expect("the step reaches half its level");
        assert!(half.abs_diff(8000) <= 1, "{rate} Hz: half level at {half}");
        let settled = rms(&f32_to_f64(&y[8400..15600]));
        assert!((settled - 0.5).abs() < 1e-3, "{rate} Hz: level {settled}");
    }
}

#[test]
fn output_length_is_the_rounded_ratio_for_any_input_length() {
    for rate in RATES {
        for n in [0usize, 1, 2, 5, 100, 4095, 4096, 4097, 99_999] {
            let x = vec![0.25f32; n];
            let y = resample_mono(&x, rate, 8000).expect("resample");
            let want =
                ((n as u128 * 8000 * 2 + u128::from(rate)) / (2 * u128::from(rate))) as usize;
            assert_eq!(y.len(), want, "{rate} Hz, {n} samples");
        }
    }
}

#[test]
fn a_tone_below_the_new_nyquist_is_kept_and_one_above_it_is_removed() {
    let rate = 44100;
    let n = 3 * rate as usize;

    let kept = sine(3900.0, rate, n, 0.5);
    let kept: Vec<f32> = kept.iter().map(|&v| v as f32).collect();
    let y = f32_to_f64(&resample_mono(&kept, rate, 8000).expect("resample"));
    let level = db(tone_amplitude(&y[8000..16000], 3900.0, 8000.0) / 0.5);
    assert!(level.abs() < 0.5, "3.9 kHz changed by {level:.3} dB");

    let removed = sine(5000.0, rate, n, 0.5);
    let removed: Vec<f32> = removed.iter().map(|&v| v as f32).collect();
    let y = f32_to_f64(&resample_mono(&removed, rate, 8000).expect("resample"));
    let attenuation = db(rms(&y[2000..22000]) / (0.5 / 2f64.sqrt()));
    assert!(attenuation < -40.0, "5 kHz only down {attenuation:.1} dB");
}

#[test]
fn equal_rates_return_the_input_untouched() {
    let x: Vec<f32> = (0..1000).map(|i| (i as f32 * 0.37).sin()).collect();
    assert_eq!(resample_mono(&x, 8000, 8000).expect("resample"), x);
    assert_eq!(resample_mono(&x, 44100, 44100).expect("resample"), x);
}

#[test]
fn resampling_to_other_rates_keeps_a_tone() {
    // The function is general, not only "to 8 kHz": 8 kHz → 16 kHz and 48 kHz → 44.1 kHz.
    for (from, to) in [(8000u32, 16000u32), (48000, 44100)] {
        let n = 2 * from as usize;
        let x: Vec<f32> = sine(440.0, from, n, 0.5)
            .iter()
            .map(|&v| v as f32)
            .collect();
        let y = f32_to_f64(&resample_mono(&x, from, to).expect("resample"));
        assert_eq!(y.len(), promised_len(n, from, to));
        let middle = &y[to as usize / 2..to as usize * 3 / 2];
        let level = db(tone_amplitude(middle, 440.0, f64::from(to)) / 0.5);
        assert!(
            level.abs() < 0.1,
            "{from} → {to}: level off by {level:.3} dB"
        );
    }
}

#[test]
fn resampling_rejects_rates_out_of_range() {
    let x = [0.0f32; 10];
    for (from, to) in [(0, 8000), (8000, 0), (MAX_RATE_HZ + 1, 8000)] {
        let err = resample_mono(&x, from, to).expect_err("must fail");
        let ResampleError::RateOutOfRange { from_hz, to_hz } = err else {
            panic!("{err:?}");
        };
        assert_eq!((from_hz, to_hz), (from, to));
        assert!(err.to_string().contains(&from.to_string()), "{err}");
    }
}

// ---------------------------------------------------------------------------------------------
// Quantization
// ---------------------------------------------------------------------------------------------

#[test]
fn to_i16_scales_rounds_and_clamps() {
    let x = [
        0.0,
        1.0 / 32768.0,
        -1.0 / 32768.0,
        0.5 / 32768.0,
        -0.5 / 32768.0,
        0.49 / 32768.0,
        1.5 / 32768.0,
        0.3,
        -1.0,
        32767.0 / 32768.0,
        1.0,
        -1.5,
        7.0,
    ];
    let want = [
        0, 1, -1, 1, -1, 0, 2, 9830, -32768, 32767, 32767, -32768, 32767,
    ];
    assert_eq!(to_i16(&x), want);
}

#[test]
fn to_i16_maps_nan_to_zero_and_clamps_infinities() {
    assert_eq!(
        to_i16(&[f32::NAN, f32::INFINITY, f32::NEG_INFINITY]),
        [0, 32767, -32768]
    );
}

#[test]
fn every_i16_survives_the_round_trip_through_f32() {
    let x: Vec<f32> = (i16::MIN..=i16::MAX)
        .map(|s| f32::from(s) / 32768.0)
        .collect();
    let back = to_i16(&x);
    assert!(back.iter().copied().eq(i16::MIN..=i16::MAX));
}

// ---------------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------------

/// The message names the file and says `what`.
fn assert_message(err: &AudioError, file: &str, what: &str) {
    let message = err.to_string();
    assert!(
        message.contains(file),
        "message does not name {file}: {message}"
    );
    assert!(
        message.contains(what),
        "message does not say {what:?}: {message}"
    );
}

#[test]
fn a_missing_file_is_not_found() {
    let dir = TempDir::new("missing");
    let path = dir.path("no_such_recording.wav");
    let err = load_pcm_8k(&path).expect_err("must fail");
    assert!(matches!(err, AudioError::NotFound { .. }), "{err:?}");
    assert_message(&err, "no_such_recording.wav", "no such file");
    let err = decode_mono(&path).expect_err("must fail");
    assert!(matches!(err, AudioError::NotFound { .. }), "{err:?}");
}

#[test]
fn a_directory_is_unreadable() {
    let dir = TempDir::new("dir");
    let path = dir.path("a_folder.wav");
    fs::create_dir(&path).expect("mkdir");
    let err = load_pcm_8k(&path).expect_err("must fail");
    assert!(matches!(err, AudioError::Unreadable { .. }), "{err:?}");
    assert_message(&err, "a_folder.wav", "cannot read");
}

#[test]
fn a_text_file_is_not_audio_whatever_its_name() {
    let dir = TempDir::new("text");
    for name in ["notes.txt", "disguised.wav", "disguised.mp3"] {
        let path = dir.path(name);
        fs::write(
            &path,
            "This is not audio, just a few words of text.\n".repeat(50),
        )
        .expect("write");
        let err = load_pcm_8k(&path).expect_err("must fail");
        assert!(
            matches!(err, AudioError::NotAudio { .. }),
            "{name}: {err:?}"
        );
        assert_message(&err, name, "not an audio file");
    }
}

#[test]
fn a_zero_byte_file_is_not_audio() {
    let dir = TempDir::new("zero");
    let path = dir.path("zero_bytes.wav");
    fs::write(&path, b"").expect("write");
    let err = load_pcm_8k(&path).expect_err("must fail");
    assert!(matches!(err, AudioError::NotAudio { .. }), "{err:?}");
    assert_message(&err, "zero_bytes.wav", "empty");
}

#[test]
fn a_wav_without_samples_is_empty() {
    let dir = TempDir::new("empty");
    let path = dir.path("silence_of_nothing.wav");
    let spec = hound::WavSpec {
        channels: 2,
        sample_rate: 44100,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    hound::WavWriter::create(&path, spec)
        .expect("create")
        .finalize()
        .expect("finalize");
    let err = load_pcm_8k(&path).expect_err("must fail");
    assert!(
        matches!(
            err,
            AudioError::Empty {
                frames_decoded: 0,
                ..
            }
        ),
        "{err:?}"
    );
    assert_message(&err, "silence_of_nothing.wav", "no audio");
    let err = decode_mono(&path).expect_err("must fail");
    assert!(matches!(err, AudioError::Empty { .. }), "{err:?}");
}

#[test]
fn a_wav_too_short_for_one_output_sample_is_empty() {
    let dir = TempDir::new("tiny");
    let path = dir.path("two_frames.wav");
    write_wav_int(&path, 96000, 16, &[vec![1000], vec![2000]]);
    let err = load_pcm_8k(&path).expect_err("must fail");
    assert!(
        matches!(
            err,
            AudioError::Empty {
                frames_decoded: 2,
                ..
            }
        ),
        "{err:?}"
    );
    assert_message(&err, "two_frames.wav", "no audio");
}

#[test]
fn a_truncated_wav_is_a_decode_error() {
    let dir = TempDir::new("truncated");
    let path = dir.path("cut_short.wav");
    write_wav_16_signal(&path, 8000, 1, &sine(440.0, 8000, 8000, 0.5));
    let bytes = fs::read(&path).expect("read");
    fs::write(&path, &bytes[..bytes.len() / 2 + 1]).expect("truncate");

    let err = load_pcm_8k(&path).expect_err("must fail");
    assert!(matches!(err, AudioError::Decode { .. }), "{err:?}");
    assert_message(&err, "cut_short.wav", "decoding failed");
    assert_message(&err, "cut_short.wav", "ends early");
}

/// One OGG page holding one whole packet (shorter than 255 bytes).
fn ogg_page(serial: u32, sequence: u32, header_type: u8, granule: u64, packet: &[u8]) -> Vec<u8> {
    assert!(packet.len() < 255);
    let mut page = Vec::new();
    page.extend_from_slice(b"OggS");
    page.push(0); // version
    page.push(header_type);
    page.extend_from_slice(&granule.to_le_bytes());
    page.extend_from_slice(&serial.to_le_bytes());
    page.extend_from_slice(&sequence.to_le_bytes());
    page.extend_from_slice(&[0; 4]); // CRC, filled in below
    page.push(1); // one segment
    page.push(packet.len() as u8);
    page.extend_from_slice(packet);
    let crc = ogg_crc(&page);
    page[22..26].copy_from_slice(&crc.to_le_bytes());
    page
}

/// The OGG page checksum: CRC-32, polynomial 0x04c11db7, no reflection, initial value 0.
fn ogg_crc(data: &[u8]) -> u32 {
    let mut crc = 0u32;
    for &byte in data {
        crc ^= u32::from(byte) << 24;
        for _ in 0..8 {
            crc = if crc & 0x8000_0000 != 0 {
                (crc << 1) ^ 0x04c1_1db7
            } else {
                crc << 1
            };
        }
    }
    crc
}

#[test]
fn an_ogg_file_of_an_unknown_codec_is_not_audio() {
    // The OGG demuxer reads a stream it has no mapping for to the end, looking for audio.
    let dir = TempDir::new("ogg-unknown");
    let path = dir.path("unknown_codec.ogg");
    let mut bytes = ogg_page(7, 0, 0x02, 0, b"\x01not an audio codec header");
    bytes.extend(ogg_page(7, 1, 0x04, 0, b"some payload"));
    fs::write(&path, bytes).expect("write");

    let err = load_pcm_8k(&path).expect_err("must fail");
    assert!(matches!(err, AudioError::NotAudio { .. }), "{err:?}");
    assert_message(&err, "unknown_codec.ogg", "not an audio file");
}

#[test]
fn every_error_message_names_the_file_and_the_problem() {
    // Also covers `NoAudioTrack`, which no demuxer of this build can produce from a file (each
    // supported container either holds an audio track or is not recognized), but which a
    // video-capable demuxer enabled later would.
    let path = PathBuf::from("some/dir/take_3.flac");
    let cases = [
        (AudioError::NotFound { path: path.clone() }, "no such file"),
        (
            AudioError::Unreadable {
                path: path.clone(),
                source: std::io::Error::new(std::io::ErrorKind::PermissionDenied, "denied"),
            },
            "cannot read the file: denied",
        ),
        (
            AudioError::NotAudio {
                path: path.clone(),
                reason: "junk".into(),
            },
            "not an audio file",
        ),
        (
            AudioError::NoAudioTrack { path: path.clone() },
            "no audio track",
        ),
        (
            AudioError::Unsupported {
                path: path.clone(),
                reason: "codec X".into(),
            },
            "cannot be decoded: codec X",
        ),
        (
            AudioError::Decode {
                path: path.clone(),
                frames_decoded: 42,
                reason: "bad frame".into(),
            },
            "decoding failed after 42 frames: bad frame",
        ),
        (
            AudioError::Empty {
                path: path.clone(),
                frames_decoded: 0,
            },
            "no audio",
        ),
        (
            AudioError::Resample {
                path: path.clone(),
                source: ResampleError::RateOutOfRange {
                    from_hz: 0,
                    to_hz: 8000,
                },
            },
            "cannot resample from 0 Hz",
        ),
    ];
    for (err, what) in cases {
        assert_message(&err, "some/dir/take_3.flac", what);
    }
}

#[test]
fn an_opus_stream_is_an_unsupported_codec() {
    // Symphonia has no Opus decoder: the OGG demuxer recognizes the stream, no decoder exists.
    let dir = TempDir::new("ogg-opus");
    let path = dir.path("speech.opus");
    let mut head = b"OpusHead".to_vec();
    head.push(1); // version
    head.push(2); // channels
    head.extend_from_slice(&312u16.to_le_bytes()); // pre-skip
    head.extend_from_slice(&48000u32.to_le_bytes()); // input rate
    head.extend_from_slice(&0i16.to_le_bytes()); // output gain
    head.push(0); // channel mapping family
    let mut tags = b"OpusTags".to_vec();
    tags.extend_from_slice(&4u32.to_le_bytes());
    tags.extend_from_slice(b"test");
    tags.extend_from_slice(&0u32.to_le_bytes());
    let mut bytes = ogg_page(9, 0, 0x02, 0, &head);
    bytes.extend(ogg_page(9, 1, 0x00, 0, &tags));
    bytes.extend(ogg_page(9, 2, 0x04, 960, &[0xfc, 0xff, 0xfe]));
    fs::write(&path, bytes).expect("write");

    let err = load_pcm_8k(&path).expect_err("must fail");
    assert!(matches!(err, AudioError::Unsupported { .. }), "{err:?}");
    assert_message(&err, "speech.opus", "cannot be decoded");
}
