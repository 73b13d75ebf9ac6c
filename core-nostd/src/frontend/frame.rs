//! One frame: window → FFT → power → quantized log power.

use super::quantize::{quantize_log_power, quantize_log_power_reference};
use super::tables::HANN;
use super::{FRAME_LEN, Frame};

/// Computes the features of one 256-sample frame into `out` (fast version).
///
/// Cost: 256 multiplies, one microfft 256-point real FFT, 128 power sums and 128 quantizations;
/// about 1 KiB of stack for the FFT buffer. Never panics; every input is valid.
pub fn compute_frame(samples: &[i16; FRAME_LEN], out: &mut Frame) {
    compute_frame_with(samples, out, quantize_log_power);
}

/// Computes the features of one frame with the reference quantizer
/// ([`quantize_log_power_reference`]). Same result as [`compute_frame`], bit for bit (tested);
/// about 30 times slower. For tests.
pub fn compute_frame_reference(samples: &[i16; FRAME_LEN], out: &mut Frame) {
    compute_frame_with(samples, out, quantize_log_power_reference);
}

/// The one implementation of a frame, generic over the quantizer (monomorphized: no call cost).
#[inline(always)]
fn compute_frame_with(samples: &[i16; FRAME_LEN], out: &mut Frame, quantize: impl Fn(f32) -> i8) {
    let mut buffer = [0.0_f32; FRAME_LEN];
    for ((x, &sample), &w) in buffer.iter_mut().zip(samples).zip(&HANN) {
        *x = f32::from(sample) * w;
    }
    let spectrum = microfft::real::rfft_256(&mut buffer);
    for (code, bin) in out.iter_mut().zip(spectrum.iter()) {
        *code = quantize(bin.re * bin.re + bin.im * bin.im);
    }
    // microfft packs the (dropped) Nyquist bin into the imaginary part of bin 0: DC is re alone.
    if let (Some(code), Some(dc)) = (out.first_mut(), spectrum.first()) {
        *code = quantize(dc.re * dc.re);
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use crate::frontend::BINS;
    use proptest::prelude::*;

    fn frame(samples: &[i16; FRAME_LEN]) -> Frame {
        let mut out = [0; BINS];
        compute_frame(samples, &mut out);
        out
    }

    #[test]
    fn silence_is_the_floor() {
        assert_eq!(frame(&[0; FRAME_LEN]), [i8::MIN; BINS]);
    }

    #[test]
    fn sine_on_bin_centre_peaks_in_its_bin() {
        let k = 32; // 1 kHz
        let samples: [i16; FRAME_LEN] = core::array::from_fn(|n| {
            let phase = 2.0 * core::f64::consts::PI * (k * n) as f64 / FRAME_LEN as f64;
            (16_000.0 * phase.sin()).round() as i16
        });
        let f = frame(&samples);
        let peak = f
            .iter()
            .enumerate()
            .max_by_key(|&(_, &v)| v)
            .map(|(i, _)| i);
        assert_eq!(peak, Some(k));
        // Hann main lobe: the neighbours are exactly 6 dB (12 steps) down.
        assert_eq!(f[k] - f[k - 1], 12);
        assert_eq!(f[k] - f[k + 1], 12);
    }

    #[test]
    fn nyquist_does_not_leak_into_dc() {
        // An alternating full-scale signal is pure Nyquist (plus window leakage near it).
        let samples: [i16; FRAME_LEN] =
            core::array::from_fn(|n| if n % 2 == 0 { 20_000 } else { -20_000 });
        let f = frame(&samples);
        assert_eq!(
            f[0],
            i8::MIN,
            "DC must not contain the packed Nyquist value"
        );
        assert!(f[BINS - 1] > 100);
    }

    #[test]
    fn full_scale_inputs_do_not_overflow() {
        assert_eq!(frame(&[i16::MAX; FRAME_LEN])[0], 127);
        assert_eq!(frame(&[i16::MIN; FRAME_LEN])[0], 127);
        let square: [i16; FRAME_LEN] =
            core::array::from_fn(|n| if (n / 8) % 2 == 0 { i16::MAX } else { i16::MIN });
        let f = frame(&square);
        // Period 16 samples = bin 16: fundamental 4/π above full scale, near the top code.
        assert!(f[16] >= 125, "fundamental {}", f[16]);
        assert_eq!(
            f.iter()
                .enumerate()
                .max_by_key(|&(_, &v)| v)
                .map(|(i, _)| i),
            Some(16)
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]
        #[test]
        fn fast_and_reference_frames_agree(samples in proptest::array::uniform32(any::<i16>()), scale in 0u32..16) {
            // Build a 256-sample frame from 32 random values, scaled down by a random shift so the
            // whole dynamic range (quiet to full scale) is exercised.
            let full: [i16; FRAME_LEN] = core::array::from_fn(|n| samples[n % 32].wrapping_mul((n as i16) | 1) >> scale);
            let mut fast = [0; BINS];
            let mut reference = [0; BINS];
            compute_frame(&full, &mut fast);
            compute_frame_reference(&full, &mut reference);
            prop_assert_eq!(fast, reference);
        }
    }
}
