//! Time of training-time augmentation: the audio stages, everything on (the preset), per 5 s
//! window; and MixStyle on one batch of the reference's shape (16 stacks of 4 windows).
//! Run: `cargo bench -p trainer --bench augment`. Results go to bench/RESULTS.md.
//! (This builds `target/release/trainer` without the `burn` feature: rebuild it with
//! `--features burn` before training.)

use core_nostd::frontend::{BINS, WINDOW_FRAMES, WINDOW_SAMPLES};
use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;
use trainer::augment::{
    AugmentConfig, MixStyleRange, augment, input_len_needed, mix_band_statistics,
};
use trainer::seed::{Purpose, rng_for};

fn bench_augment(c: &mut Criterion) {
    let config = AugmentConfig::preset_default_on();
    let mut state = 1_u32;
    let input: Vec<i16> = (0..input_len_needed(WINDOW_SAMPLES, &config))
        .map(|_| {
            state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            ((state >> 16) as i16) / 4
        })
        .collect();
    let mut rng = rng_for(0, Purpose::Augment, 0);
    c.bench_function("augment 5 s window, preset (all on)", |b| {
        b.iter(|| augment(black_box(&input), WINDOW_SAMPLES, &config, &mut rng))
    });
}

fn bench_mix_style(c: &mut Criterion) {
    const BATCH: usize = 16;
    const STACK: usize = 4;
    let mut state = 7_u32;
    let batch: Vec<Vec<i8>> = (0..BATCH)
        .map(|_| {
            (0..STACK * BINS * WINDOW_FRAMES)
                .map(|_| {
                    state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                    (state >> 24) as i8
                })
                .collect()
        })
        .collect();
    let always = MixStyleRange {
        probability: 1.0,
        alpha: 0.3,
    };
    let mut rng = rng_for(0, Purpose::MixStyle, 0);
    c.bench_function("MixStyle, one batch of 16 stacks of 4 windows", |b| {
        b.iter_batched_ref(
            || batch.clone(),
            |examples| {
                let mut features: Vec<&mut [i8]> =
                    examples.iter_mut().map(Vec::as_mut_slice).collect();
                mix_band_statistics(black_box(&mut features), &always, &mut rng)
            },
            criterion::BatchSize::LargeInput,
        )
    });
}

criterion_group!(benches, bench_augment, bench_mix_style);
criterion_main!(benches);
