//! A small Schroeder/Freeverb-style reverb: eight parallel damped feedback combs, then four
//! series all-passes, mixed with the dry signal.
//!
//! Chosen over convolution with a noise impulse response because its cost does not grow with
//! the reverberation time (an RT60 of 2 s at 8 kHz is a 16,000-tap response: 640 M multiply-adds
//! per window directly, or an FFT we do not otherwise need), and because its decay is set
//! exactly: a comb of delay `d` with loop gain `g = 10^(-3 d / (RT60 fs))` falls 60 dB in RT60.
//! Cost: 12 delay-line updates per sample, about 0.5 M operations per 5 s window, vectorized:
//! no feedback path is shorter than a delay line, so each line runs in independent blocks.
//!
//! Delays are Freeverb's (tuned at 44.1 kHz) scaled to 8 kHz, times a drawn room size. A
//! two-tap low-pass in each comb loop makes highs die sooner, as air and walls do; RT60 is the
//! low-frequency decay (an impulse's broadband T20 measures 0.84 to 0.98 of it). The wet signal
//! is scaled so that its power is about the dry signal's (the all-passes keep power; each comb
//! multiplies low-frequency power by `1 / (1 - g^2)`; white noise comes out about 2 dB quieter,
//! its highs being damped).
//!
//! Limitation: the reverb starts from silence at the window's first sample, so the window's
//! opening lacks the tail that earlier music would have left.

use super::draw::ReverbApplied;

/// Sample rate the delays are tuned for.
const SAMPLE_RATE: f32 = 8000.0;
/// Freeverb's comb delays (1116 … 1617 samples at 44.1 kHz) scaled to 8 kHz.
const COMB_DELAYS: [f32; 8] = [202.0, 216.0, 232.0, 246.0, 258.0, 270.0, 282.0, 293.0];
/// Freeverb's all-pass delays (556 … 225 samples at 44.1 kHz) scaled to 8 kHz.
const ALLPASS_DELAYS: [f32; 4] = [101.0, 80.0, 62.0, 41.0];
/// All-pass coefficient (Freeverb's).
const ALLPASS_GAIN: f32 = 0.5;
/// Comb-loop low-pass coefficient: 0 is no damping; at 0.2, the highest frequencies lose 40% of
/// their amplitude per loop.
const DAMPING: f32 = 0.2;
/// A constant far below one LSB added inside feedback loops so that they never decay into
/// subnormal floats, which are many times slower to compute with.
const ANTI_SUBNORMAL: f32 = 1e-12;

/// Mixes a reverberated copy into `signal`: `(1 - wet) * dry + wet * reverb`. Leaves `signal`
/// bit-for-bit unchanged when `wet` is 0 (or not positive). Cost: about 12 delay-line updates
/// per sample and two buffers of about `signal.len()` floats.
pub(super) fn apply(signal: &mut [f32], params: &ReverbApplied) {
    let wet = params.wet.min(1.0);
    if wet.is_nan() || wet <= 0.0 {
        return;
    }
    let reverb = render(signal, params.rt60_s, params.room_scale);
    let dry = 1.0 - wet;
    for (s, r) in signal.iter_mut().zip(&reverb) {
        *s = dry * *s + wet * r;
    }
}

/// The wet signal alone, at about the input's power.
fn render(signal: &[f32], rt60_s: f32, room_scale: f32) -> Vec<f32> {
    let rt60_s = if rt60_s.is_finite() {
        rt60_s.max(0.01)
    } else {
        1.0
    };
    let room_scale = if room_scale.is_finite() {
        room_scale.clamp(0.25, 4.0)
    } else {
        1.0
    };
    let mut wet = vec![0.0f32; signal.len()];
    let mut power_gain = 0.0f32;
    for base in COMB_DELAYS {
        let delay = scaled(base, room_scale);
        let g = loop_gain(delay, rt60_s);
        power_gain += 1.0 / (1.0 - g * g);
        comb(signal, &mut wet, delay, g);
    }
    let norm = 1.0 / power_gain.sqrt();
    for base in ALLPASS_DELAYS {
        allpass(&mut wet, scaled(base, room_scale));
    }
    for w in &mut wet {
        *w *= norm;
    }
    wet
}

/// `base` samples times `room_scale`, at least one.
fn scaled(base: f32, room_scale: f32) -> usize {
    ((base * room_scale).round() as usize).max(1)
}

/// Loop gain for which a delay of `delay` samples decays by 60 dB in `rt60_s` seconds.
fn loop_gain(delay: usize, rt60_s: f32) -> f32 {
    10f32.powf(-3.0 * delay as f32 / (rt60_s * SAMPLE_RATE))
}

/// Adds to `out` the response of a damped feedback comb to `input`: `v[t] = x[t] + g * lp(v)[t -
/// delay]`, `out[t] += v[t - delay]`, where `lp` averages two neighbours (`(1 - DAMPING)` of the
/// newer). Like Freeverb's comb, but with a two-tap rather than a recursive low-pass, so that no
/// value depends on one less than `delay` samples old: blocks of `delay` samples are independent
/// and the loop vectorizes.
fn comb(input: &[f32], out: &mut [f32], delay: usize, g: f32) {
    // `v[t]` is stored at `t + lag`; the first `lag` entries are the silence before time 0.
    let lag = delay + 1;
    let mut v = vec![0.0f32; input.len() + lag];
    for start in (0..input.len()).step_by(delay) {
        let len = delay.min(input.len() - start);
        let (past, future) = v.split_at_mut(start + lag);
        let (older, newer) = (&past[start..start + len], &past[start + 1..start + 1 + len]);
        let now = &mut future[..len];
        let x = &input[start..start + len];
        for (((v, x), old), new) in now.iter_mut().zip(x).zip(older).zip(newer) {
            *v = x + g * ((1.0 - DAMPING) * new + DAMPING * old) + ANTI_SUBNORMAL;
        }
        for (o, new) in out[start..start + len].iter_mut().zip(newer) {
            *o += new;
        }
    }
}

/// Runs `signal` through a Schroeder all-pass `(z^-d - a) / (1 - a z^-d)` in place:
/// `v[t] = x[t] + a v[t - d]`, `y[t] = v[t - d] - a v[t]`, in independent blocks of `d` samples.
fn allpass(signal: &mut [f32], delay: usize) {
    let mut v = vec![0.0f32; signal.len() + delay];
    for start in (0..signal.len()).step_by(delay) {
        let len = delay.min(signal.len() - start);
        let (past, future) = v.split_at_mut(start + delay);
        let delayed = &past[start..start + len];
        let now = &mut future[..len];
        for ((s, v), d) in signal[start..start + len].iter_mut().zip(now).zip(delayed) {
            *v = *s + ALLPASS_GAIN * d + ANTI_SUBNORMAL;
            *s = d - ALLPASS_GAIN * *v;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::augment::test_signals::{rms, schroeder_rt60};

    fn params(rt60_s: f32, wet: f32) -> ReverbApplied {
        ReverbApplied {
            rt60_s,
            wet,
            room_scale: 1.0,
        }
    }

    #[test]
    fn impulse_decays_at_the_drawn_rt60() {
        for rt60 in [0.4, 1.0, 2.0] {
            let mut signal = vec![0.0f32; (3.0 * rt60 * SAMPLE_RATE) as usize];
            signal[0] = 10_000.0;
            apply(&mut signal, &params(rt60, 1.0));
            let measured = schroeder_rt60(&signal, SAMPLE_RATE);
            assert!(
                measured > rt60 / 1.5 && measured < rt60 * 1.5,
                "RT60 {rt60} s measured as {measured} s"
            );
        }
    }

    #[test]
    fn wet_signal_has_about_the_dry_power() {
        let dry = crate::augment::test_signals::noise(40_000, 7);
        let mut signal = dry.clone();
        apply(&mut signal, &params(1.0, 1.0));
        let ratio_db = 20.0 * (rms(&signal[8000..]) / rms(&dry[8000..])).log10();
        assert!(ratio_db.abs() < 3.0, "wet/dry power {ratio_db} dB");
    }

    #[test]
    fn zero_wet_is_exact_and_odd_parameters_do_not_panic() {
        let dry: Vec<f32> = (0..5000).map(|i| ((i * 37) % 200) as f32 - 100.0).collect();
        let mut signal = dry.clone();
        apply(&mut signal, &params(1.0, 0.0));
        assert_eq!(signal, dry);
        for p in [
            params(f32::NAN, 0.5),
            params(0.0, 2.0),
            params(1.0, f32::NAN),
        ] {
            let mut signal = dry.clone();
            apply(&mut signal, &p);
            assert!(signal.iter().all(|v| v.is_finite()));
        }
        apply(&mut [], &params(1.0, 0.5));
    }
}
