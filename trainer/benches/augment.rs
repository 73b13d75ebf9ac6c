//! Time of training-time audio augmentation, everything on (the preset), per 5 s window.
//! Run: `cargo bench -p trainer --bench augment`. Results go to bench/RESULTS.md.

use core_nostd::frontend::WINDOW_SAMPLES;
use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;
use trainer::augment::{AugmentConfig, augment, input_len_needed};
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

criterion_group!(benches, bench_augment);
criterion_main!(benches);
