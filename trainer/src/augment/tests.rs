//! Tests of the whole pipeline through the public API.

use std::hint::black_box;
use std::time::Instant;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::test_signals::{level_db, noise, peak_frequency, rms, schroeder_rt60, sine};
use super::*;

/// Samples of one 5 s training window.
const WINDOW: usize = 40_064;

fn to_i16_vec(signal: &[f32]) -> Vec<i16> {
    signal.iter().map(|&v| to_i16(v)).collect()
}

fn to_f32_vec(samples: &[i16]) -> Vec<f32> {
    to_f32(samples)
}

fn rng(seed: u64) -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(seed)
}

#[test]
fn everything_off_returns_the_input_bit_for_bit() {
    let input: Vec<i16> = (0..5000)
        .map(|i| (i * 7919 % 65_536 - 32_768) as i16)
        .collect();
    let off = AugmentConfig::default();
    assert_eq!(augment(&input, 5000, &off, &mut rng(1)), input);
    assert_eq!(augment(&input, 1234, &off, &mut rng(1)), input[..1234]);
    let longer = augment(&input, 6000, &off, &mut rng(1));
    assert_eq!(longer[..5000], input[..]);
    assert!(longer[5000..].iter().all(|&s| s == 0));
    assert_eq!(input_len_needed(WINDOW, &off), WINDOW);
}

#[test]
fn same_seed_same_output_and_other_seeds_differ() {
    let input = to_i16_vec(&sine(330.0, 6000.0, 45_000));
    let config = AugmentConfig::preset_default_on();
    let (a, applied_a) = augment_with_report(&input, WINDOW, &config, &mut rng(42));
    let (b, applied_b) = augment_with_report(&input, WINDOW, &config, &mut rng(42));
    assert_eq!(a, b);
    assert_eq!(applied_a, applied_b);
    assert_eq!(a.len(), WINDOW);
    assert_ne!(augment(&input, WINDOW, &config, &mut rng(43)), a);
}

#[test]
fn the_callers_generator_advances_by_one_u64_whatever_the_config() {
    for config in [AugmentConfig::default(), AugmentConfig::preset_default_on()] {
        let mut used = rng(5);
        augment(&[1, 2, 3], 100, &config, &mut used);
        let mut expected = rng(5);
        expected.next_u64();
        assert_eq!(used.next_u64(), expected.next_u64());
    }
}

#[test]
fn gain_changes_the_rms_by_the_drawn_db() {
    let input = to_i16_vec(&sine(440.0, 3000.0, WINDOW));
    let config = AugmentConfig {
        gain_db: Some((-12.0, 6.0)),
        ..AugmentConfig::default()
    };
    for seed in 0..10 {
        let (out, applied) = augment_with_report(&input, WINDOW, &config, &mut rng(seed));
        let drawn = applied.gain_db.unwrap();
        let measured = 20.0 * (rms(&to_f32_vec(&out)) / rms(&to_f32_vec(&input))).log10();
        assert!(
            (measured - drawn).abs() < 0.05,
            "drawn {drawn} dB, measured {measured}"
        );
    }
}

#[test]
fn noise_snr_is_the_drawn_one() {
    let input = to_i16_vec(&sine(440.0, 8000.0, WINDOW));
    let config = AugmentConfig {
        noise_snr_db: Some((0.0, 40.0)),
        ..AugmentConfig::default()
    };
    for seed in 0..10 {
        let (out, applied) = augment_with_report(&input, WINDOW, &config, &mut rng(seed));
        let noise: Vec<f32> = out
            .iter()
            .zip(&input)
            .map(|(&o, &i)| f32::from(o) - f32::from(i))
            .collect();
        let snr = 20.0 * (rms(&to_f32_vec(&input)) / rms(&noise)).log10();
        let drawn = applied.noise.unwrap().snr_db;
        assert!(
            (snr - drawn).abs() < 1.0,
            "drawn {drawn} dB, measured {snr}"
        );
    }
}

#[test]
fn tilt_moves_highs_against_lows_in_the_drawn_direction() {
    let two_sines: Vec<f32> = sine(250.0, 4000.0, WINDOW)
        .iter()
        .zip(sine(2000.0, 4000.0, WINDOW))
        .map(|(a, b)| a + b)
        .collect();
    let input = to_i16_vec(&two_sines);
    let config = AugmentConfig {
        tilt_db_per_octave: Some(3.0),
        ..AugmentConfig::default()
    };
    for seed in 0..6 {
        let (out, applied) = augment_with_report(&input, WINDOW, &config, &mut rng(seed));
        let tilt = applied.tilt_db_per_octave.unwrap();
        let out = to_f32_vec(&out[4000..]);
        let difference = level_db(&out, 2000.0) - level_db(&out, 250.0);
        assert!(
            (difference - 3.0 * tilt).abs() < 1.0,
            "tilt {tilt}: {difference}"
        );
    }
}

#[test]
fn reverb_gives_an_impulse_a_tail_decaying_at_the_rt60() {
    let mut impulse = vec![0i16; WINDOW];
    impulse[0] = 30_000;
    for rt60 in [0.5, 1.5] {
        let config = AugmentConfig {
            reverb: Some(ReverbRange {
                rt60_s: (rt60, rt60),
                wet: (1.0, 1.0),
            }),
            ..AugmentConfig::default()
        };
        let out = augment(&impulse, WINDOW, &config, &mut rng(7));
        let measured = schroeder_rt60(&to_f32_vec(&out), 8000.0);
        assert!(
            measured > rt60 / 1.5 && measured < rt60 * 1.5,
            "{rt60}: {measured}"
        );
    }
}

#[test]
fn reverb_with_zero_wet_leaves_the_signal_unchanged() {
    let input = to_i16_vec(&noise(WINDOW, 3));
    let config = AugmentConfig {
        reverb: Some(ReverbRange {
            rt60_s: (0.3, 2.0),
            wet: (0.0, 0.0),
        }),
        ..AugmentConfig::default()
    };
    assert_eq!(augment(&input, WINDOW, &config, &mut rng(9)), input);
}

fn speed_config(speed: f32) -> AugmentConfig {
    AugmentConfig {
        speed: Some((speed, speed)),
        ..AugmentConfig::default()
    }
}

#[test]
fn speed_change_keeps_the_pitch() {
    for speed in [0.9, 1.1] {
        let config = speed_config(speed);
        let input = to_i16_vec(&sine(440.0, 10_000.0, input_len_needed(WINDOW, &config)));
        let out = augment(&input, WINDOW, &config, &mut rng(1));
        let peak = peak_frequency(&to_f32_vec(&out), 300.0, 600.0);
        assert!(
            (peak - 440.0).abs() <= 4.4,
            "speed {speed}: peak at {peak} Hz"
        );
    }
}

#[test]
fn speed_change_scales_onset_spacing() {
    const SPACING: usize = 1000;
    for speed in [0.9f32, 1.1] {
        let config = speed_config(speed);
        let input: Vec<i16> = (0..input_len_needed(WINDOW, &config))
            .map(|i| if i % SPACING == 0 { 20_000 } else { 0 })
            .collect();
        let out = to_f32_vec(&augment(&input, WINDOW, &config, &mut rng(1)));
        let measured = strongest_period(&out, 600..1400) as f32;
        let expected = SPACING as f32 / speed;
        assert!(
            (measured / expected - 1.0).abs() < 0.02,
            "speed {speed}: spacing {measured}, expected {expected}"
        );
    }
}

/// The lag in `lags` with the highest autocorrelation.
fn strongest_period(signal: &[f32], lags: std::ops::Range<usize>) -> usize {
    let autocorrelation = |lag: usize| -> f64 {
        let pairs = signal.iter().zip(&signal[lag..]);
        pairs.map(|(&a, &b)| f64::from(a) * f64::from(b)).sum()
    };
    lags.max_by(|&a, &b| autocorrelation(a).total_cmp(&autocorrelation(b)))
        .unwrap_or(0)
}

#[test]
fn odd_inputs_and_configs_neither_panic_nor_wrap() {
    let preset = AugmentConfig::preset_default_on();
    let odd = AugmentConfig {
        gain_db: Some((f32::NAN, 1e9)),
        tilt_db_per_octave: Some(f32::INFINITY),
        reverb: Some(ReverbRange {
            rt60_s: (-1.0, f32::NAN),
            wet: (5.0, -5.0),
        }),
        eq: Some(EqRange {
            bands: (255, 9),
            gain_db: -1e9,
            q: (f32::NAN, 0.0),
        }),
        noise_snr_db: Some((f32::NEG_INFINITY, -1e9)),
        speed: Some((0.0, 100.0)),
        pitch_semitones: Some(-1e9),
        mask: Some(MaskRange {
            bands: u8::MAX,
            band_bins: u16::MAX,
            spans: u8::MAX,
            span_frames: u16::MAX,
        }),
        mix_style: Some(MixStyleRange {
            probability: f32::NAN,
            alpha: -1.0,
        }),
    };
    let full_scale: Vec<i16> = (0..WINDOW)
        .map(|i| if i / 9 % 2 == 0 { i16::MAX } else { i16::MIN })
        .collect();
    let inputs = [vec![], vec![0; WINDOW], vec![i16::MIN; 10], full_scale];
    for config in [&preset, &odd] {
        for input in &inputs {
            for out_len in [0, 1, 1000, WINDOW] {
                let out = augment(input, out_len, config, &mut rng(2));
                assert_eq!(out.len(), out_len);
            }
        }
    }
    // A loud signal at a large gain saturates instead of wrapping around.
    let loud = AugmentConfig {
        gain_db: Some((20.0, 20.0)),
        ..AugmentConfig::default()
    };
    let out = augment(&[30_000, -30_000, 100], 3, &loud, &mut rng(0));
    assert_eq!(out, [i16::MAX, i16::MIN, 1000]);
}

#[test]
fn rounding_is_to_nearest_even_and_saturates() {
    let cases = [
        (2.5, 2),
        (3.5, 4),
        (-2.5, -2),
        (0.499_999_97, 0),
        (-7.6, -8),
        (32_767.4, 32_767),
        (1e9, i16::MAX),
        (-1e9, i16::MIN),
        (f32::INFINITY, i16::MAX),
        (f32::NAN, 0),
    ];
    for (value, expected) in cases {
        assert_eq!(to_i16(value), expected, "{value}");
    }
}

#[test]
fn silent_windows_stay_silent() {
    let out = augment(
        &vec![0; WINDOW],
        WINDOW,
        &AugmentConfig::preset_default_on(),
        &mut rng(4),
    );
    assert!(out.iter().all(|&s| s == 0));
}

#[test]
fn input_len_needed_covers_the_fastest_tempo() {
    let config = AugmentConfig::preset_default_on();
    let needed = input_len_needed(WINDOW, &config);
    assert!(needed >= (WINDOW as f32 * 1.1) as usize && needed < WINDOW * 12 / 10);
    assert_eq!(input_len_needed(0, &config), 0);
    // A shift of ±2 semitones reads a few hundred samples more (the resampler's margin and the
    // WSOLA margin at the highest source rate).
    let pitched = AugmentConfig {
        pitch_semitones: Some(2.0),
        ..config
    };
    let extra = input_len_needed(WINDOW, &pitched) - needed;
    assert!((100..600).contains(&extra), "{extra}");
}

fn pitch_config(semitones: f32, speed: Option<f32>) -> AugmentConfig {
    AugmentConfig {
        pitch_semitones: Some(semitones),
        speed: speed.map(|s| (s, s)),
        ..AugmentConfig::default()
    }
}

/// A seed whose drawn shift under `config` is above (`up`) or below zero, with the shift.
fn seed_with_shift(config: &AugmentConfig, up: bool) -> (u64, PitchApplied) {
    (0..100)
        .find_map(|seed| {
            let (_, applied) = augment_with_report(&[], 0, config, &mut rng(seed));
            let shift = applied.pitch.unwrap();
            (shift.semitones.abs() > 1.0 && (shift.semitones > 0.0) == up).then_some((seed, shift))
        })
        .unwrap()
}

#[test]
fn pitch_shift_moves_a_tone_by_the_realized_ratio() {
    let config = pitch_config(2.0, None);
    for up in [true, false] {
        let (seed, shift) = seed_with_shift(&config, up);
        assert_eq!(shift.source_hz % 50, 0);
        let ratio = shift.source_hz as f32 / 8000.0;
        assert!((12.0 * ratio.log2() - shift.semitones).abs() < 1e-4);
        let input = to_i16_vec(&sine(440.0, 10_000.0, input_len_needed(WINDOW, &config)));
        let out = to_f32_vec(&augment(&input, WINDOW, &config, &mut rng(seed)));
        let peak = peak_frequency(&out, 300.0, 600.0);
        assert!(
            (peak - 440.0 * ratio).abs() <= 2.0,
            "shift {}: peak at {peak} Hz, expected {}",
            shift.semitones,
            440.0 * ratio
        );
        // The level is kept (a 10,000-peak sine has an RMS of 7,071) and the whole window is
        // filled: the input the stage asked for reaches its last sample.
        let whole = rms(&out);
        assert!((whole / 7071.0).log10().abs() * 20.0 < 0.5, "rms {whole}");
        let tail = rms(&out[WINDOW - 400..]);
        assert!(tail > 6000.0, "shift {}: tail rms {tail}", shift.semitones);
    }
}

#[test]
fn pitch_shift_keeps_the_tempo_and_speed_still_sets_it() {
    const SPACING: usize = 1000;
    for speed in [None, Some(0.9f32), Some(1.1)] {
        let config = pitch_config(2.0, speed);
        for up in [true, false] {
            let (seed, shift) = seed_with_shift(&config, up);
            // Short tone bursts: their spacing is the tempo, their content the pitch.
            let burst = sine(500.0, 15_000.0, 200);
            let input: Vec<i16> = (0..input_len_needed(WINDOW, &config))
                .map(|i| {
                    to_i16(if i % SPACING < 200 {
                        burst[i % SPACING]
                    } else {
                        0.0
                    })
                })
                .collect();
            let out = to_f32_vec(&augment(&input, WINDOW, &config, &mut rng(seed)));
            let envelope: Vec<f32> = out.iter().map(|v| v.abs()).collect();
            let measured = strongest_period(&envelope, 600..1400) as f32;
            let expected = SPACING as f32 / speed.unwrap_or(1.0);
            assert!(
                (measured / expected - 1.0).abs() < 0.02,
                "speed {speed:?}, shift {}: spacing {measured}, expected {expected}",
                shift.semitones
            );
        }
    }
}

#[test]
fn pitch_draws_cover_the_range_and_change_no_other_stage_draws() {
    let preset = AugmentConfig::preset_default_on();
    let pitched = AugmentConfig {
        pitch_semitones: Some(-2.0),
        ..preset.clone()
    };
    let (mut lowest, mut highest) = (0.0f32, 0.0f32);
    for seed in 0..300 {
        let (_, with) = augment_with_report(&[], 0, &pitched, &mut rng(seed));
        let (_, without) = augment_with_report(&[], 0, &preset, &mut rng(seed));
        let shift = with.pitch.unwrap();
        assert!(shift.semitones.abs() <= 2.0 + 0.06, "{shift:?}");
        (lowest, highest) = (lowest.min(shift.semitones), highest.max(shift.semitones));
        assert_eq!(
            Applied {
                pitch: None,
                ..with
            },
            without,
            "seed {seed}"
        );
    }
    assert!(lowest < -1.8 && highest > 1.8, "{lowest} {highest}");
    // Out-of-range shifts are held to an octave; a non-finite one is no shift.
    let octave = AugmentConfig {
        pitch_semitones: Some(40.0),
        ..AugmentConfig::default()
    };
    assert!((0..50).all(|seed| {
        let (_, applied) = augment_with_report(&[], 0, &octave, &mut rng(seed));
        applied.pitch.unwrap().semitones.abs() <= PITCH_LIMIT_SEMITONES
    }));
    let nan = AugmentConfig {
        pitch_semitones: Some(f32::NAN),
        ..AugmentConfig::default()
    };
    let input = to_i16_vec(&sine(440.0, 10_000.0, WINDOW));
    let (out, applied) = augment_with_report(&input, WINDOW, &nan, &mut rng(3));
    assert_eq!(applied.pitch.map(|p| p.source_hz), Some(8000));
    assert_eq!(
        out, input,
        "a zero shift at tempo 1 leaves the window as it was"
    );
}

fn eq_config(bands: (u8, u8), gain_db: f32, q: (f32, f32)) -> AugmentConfig {
    AugmentConfig {
        eq: Some(EqRange { bands, gain_db, q }),
        ..AugmentConfig::default()
    }
}

/// The change in RMS in dB from `input` to `output`, past the filters' settling.
fn rms_change_db(input: &[i16], output: &[i16]) -> f32 {
    let settled = |s: &[i16]| rms(&to_f32_vec(&s[4000..]));
    20.0 * (settled(output) / settled(input)).log10()
}

#[test]
fn eq_off_or_flat_leaves_the_input_bit_for_bit() {
    let input = to_i16_vec(&noise(WINDOW, 8));
    for config in [
        AugmentConfig::default(),
        eq_config((0, 0), 6.0, (0.7, 2.5)),
        eq_config((1, 8), 0.0, (0.7, 2.5)),
    ] {
        for seed in 0..3 {
            assert_eq!(augment(&input, WINDOW, &config, &mut rng(seed)), input);
        }
    }
}

#[test]
fn eq_band_changes_a_sine_at_its_centre_by_the_drawn_gain() {
    let config = eq_config((1, 1), 12.0, (2.0, 2.0));
    let (mut boosts, mut cuts) = (0, 0);
    for seed in 0..12 {
        let (_, applied) = augment_with_report(&[], 0, &config, &mut rng(seed));
        let bands = applied.eq.unwrap();
        let [band] = bands[..] else {
            panic!("{bands:?}")
        };
        assert_eq!(band.q, 2.0);
        boosts += usize::from(band.gain_db > 1.0);
        cuts += usize::from(band.gain_db < -1.0);
        let far = if band.freq_hz * 8.0 < 3800.0 {
            band.freq_hz * 8.0
        } else {
            band.freq_hz / 8.0
        };
        for (hz, expected, tolerance) in [(band.freq_hz, band.gain_db, 0.3), (far, 0.0, 1.0)] {
            let input = to_i16_vec(&sine(hz, 2000.0, WINDOW));
            let (out, again) = augment_with_report(&input, WINDOW, &config, &mut rng(seed));
            assert_eq!(again.eq, Some(bands.clone()));
            let measured = rms_change_db(&input, &out);
            assert!(
                (measured - expected).abs() < tolerance,
                "{band:?}: {measured} dB at {hz} Hz"
            );
        }
    }
    assert!(boosts > 2 && cuts > 2, "{boosts} boosts, {cuts} cuts");
}

#[test]
fn eq_is_deterministic_and_changes_no_other_stage_draws() {
    let input = to_i16_vec(&noise(WINDOW, 4));
    let with_eq = AugmentConfig::preset_default_on();
    let without_eq = AugmentConfig {
        eq: None,
        ..with_eq.clone()
    };
    let eq_only = eq_config((2, 5), 6.0, (0.7, 2.5));
    for seed in 0..20 {
        let (_, mut on) = augment_with_report(&input, 1000, &with_eq, &mut rng(seed));
        let (_, off) = augment_with_report(&input, 1000, &without_eq, &mut rng(seed));
        assert!(
            on.eq
                .take()
                .is_some_and(|bands| (2..=5).contains(&bands.len()))
        );
        // Noise `rms` follows the signal, which the equalizer changes.
        let (on_noise, off_noise) = (on.noise.take().unwrap(), off.noise.unwrap());
        assert_eq!(
            (on_noise.snr_db, on_noise.color),
            (off_noise.snr_db, off_noise.color)
        );
        assert_eq!(on, Applied { noise: None, ..off });
    }
    let (a, applied_a) = augment_with_report(&input, WINDOW, &eq_only, &mut rng(3));
    let (b, applied_b) = augment_with_report(&input, WINDOW, &eq_only, &mut rng(3));
    assert_eq!((&a, &applied_a), (&b, &applied_b));
    assert_ne!(a, input);
    assert_ne!(augment(&input, WINDOW, &eq_only, &mut rng(4)), a);
}

#[test]
fn extreme_eq_saturates_instead_of_wrapping() {
    let input = to_i16_vec(
        &noise(WINDOW, 6)
            .iter()
            .map(|v| v * 30.0)
            .collect::<Vec<_>>(),
    );
    for config in [
        eq_config((8, 8), 18.0, (0.3, 0.3)),
        eq_config((200, 255), 1e9, (f32::INFINITY, -1.0)),
        eq_config((8, 8), f32::NAN, (f32::NAN, f32::NAN)),
    ] {
        for seed in 0..4 {
            let (out, applied) = augment_with_report(&input, WINDOW, &config, &mut rng(seed));
            let bands = applied.eq.unwrap();
            assert_eq!(bands.len(), usize::from(EQ_BANDS_LIMIT));
            let mut reference = to_f32_vec(&input);
            eq::apply(&mut reference, &bands);
            assert!(reference.iter().all(|v| v.is_finite()));
            assert_eq!(out, to_i16_vec(&reference));
        }
    }
    // Eight bands of up to 18 dB around a loud window clip it.
    let (out, _) = augment_with_report(
        &input,
        WINDOW,
        &eq_config((8, 8), 18.0, (0.3, 0.3)),
        &mut rng(0),
    );
    assert!(out.contains(&i16::MAX) && out.contains(&i16::MIN));
}

/// Prints the time per 5 s window of each stage alone (gain alone is about the cost of the
/// conversions every configuration pays) and of the preset, the figures in the module
/// documentation. Meaningful in release builds only:
/// `cargo test --release -p trainer --lib time_per_window -- --nocapture`.
#[test]
fn time_per_window_with_everything_on() {
    let preset = AugmentConfig::preset_default_on();
    let off = AugmentConfig::default();
    let stages = [
        (
            "gain",
            AugmentConfig {
                gain_db: preset.gain_db,
                ..off.clone()
            },
        ),
        (
            "speed",
            AugmentConfig {
                speed: preset.speed,
                ..off.clone()
            },
        ),
        (
            "pitch (2 semitones, tempo kept)",
            AugmentConfig {
                pitch_semitones: Some(2.0),
                ..off.clone()
            },
        ),
        (
            "reverb",
            AugmentConfig {
                reverb: preset.reverb,
                ..off.clone()
            },
        ),
        (
            "tilt",
            AugmentConfig {
                tilt_db_per_octave: preset.tilt_db_per_octave,
                ..off.clone()
            },
        ),
        (
            "eq",
            AugmentConfig {
                eq: preset.eq,
                ..off.clone()
            },
        ),
        (
            "noise",
            AugmentConfig {
                noise_snr_db: preset.noise_snr_db,
                ..off.clone()
            },
        ),
        ("all (preset)", preset.clone()),
    ];
    let input = to_i16_vec(&noise(input_len_needed(WINDOW, &preset), 1));
    let reps = if cfg!(debug_assertions) { 1 } else { 41 };
    for (name, config) in &stages {
        let mut times: Vec<f64> = (0..reps)
            .map(|seed| {
                let start = Instant::now();
                black_box(augment(black_box(&input), WINDOW, config, &mut rng(seed)));
                start.elapsed().as_secs_f64() * 1e3
            })
            .collect();
        times.sort_by(f64::total_cmp);
        let median = times[times.len() / 2];
        println!("{name}: {median:.3} ms per 5 s window (median of {reps})");
        assert!(median.is_finite());
    }
}
