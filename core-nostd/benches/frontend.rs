//! Host throughput of the front end: five-second windows (40,064 samples → 312 × 128 features)
//! per second on one thread. Run: `cargo bench -p core-nostd --bench frontend`.
//! Results go to bench/RESULTS.md.

use core_nostd::frontend::{
    BINS, FRAME_LEN, FeaturePlane, StreamingFrontEnd, WINDOW_FRAMES, WINDOW_SAMPLES, compute_frame,
    compute_frame_reference, window_features,
};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;

/// A deterministic, music-like test signal (three detuned partials plus a little noise).
fn signal() -> Box<[i16; WINDOW_SAMPLES]> {
    let mut state = 0x1234_5678_u32;
    let samples: Vec<i16> = (0..WINDOW_SAMPLES)
        .map(|n| {
            state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            let noise = f64::from((state >> 16) as i16) / 64.0;
            let t = n as f64 / 8000.0;
            let tone = 6000.0 * (2.0 * std::f64::consts::PI * 440.0 * t).sin()
                + 3000.0 * (2.0 * std::f64::consts::PI * 661.0 * t).sin()
                + 1500.0 * (2.0 * std::f64::consts::PI * 1763.0 * t).sin();
            (tone + noise) as i16
        })
        .collect();
    samples
        .into_boxed_slice()
        .try_into()
        .expect("window length")
}

fn bench_frontend(c: &mut Criterion) {
    let samples = signal();
    let mut plane: Box<FeaturePlane> = Box::new([[0; WINDOW_FRAMES]; BINS]);

    let mut group = c.benchmark_group("window");
    group.throughput(Throughput::Elements(1));
    group.bench_function("window_features (whole-window API)", |b| {
        b.iter(|| window_features(black_box(&samples), &mut plane));
    });
    group.bench_function("streaming push (1024-sample chunks)", |b| {
        b.iter(|| {
            let mut front_end = StreamingFrontEnd::new();
            let mut checksum = 0_i32;
            for chunk in black_box(&samples[..]).chunks(1024) {
                front_end.push(chunk, |frame| {
                    checksum = checksum.wrapping_add(i32::from(frame[7]))
                });
            }
            checksum
        });
    });
    group.finish();

    let frame_samples: [i16; FRAME_LEN] = samples[..FRAME_LEN].try_into().expect("frame");
    let mut frame = [0_i8; BINS];
    let mut group = c.benchmark_group("frame");
    group.throughput(Throughput::Elements(1));
    group.bench_function("compute_frame", |b| {
        b.iter(|| compute_frame(black_box(&frame_samples), &mut frame))
    });
    group.bench_function("compute_frame_reference", |b| {
        b.iter(|| compute_frame_reference(black_box(&frame_samples), &mut frame))
    });
    // The FFT alone, for the share of the frame it takes.
    let mut fft_input = [0.0_f32; FRAME_LEN];
    group.bench_function("microfft rfft_256 alone", |b| {
        b.iter(|| {
            for (x, &s) in fft_input.iter_mut().zip(black_box(&frame_samples)) {
                *x = f32::from(s);
            }
            black_box(microfft::real::rfft_256(&mut fft_input)[3].re)
        })
    });
    group.finish();
}

criterion_group!(benches, bench_frontend);
criterion_main!(benches);
