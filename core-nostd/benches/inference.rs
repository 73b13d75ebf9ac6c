//! Host latency of the int8 inference on one thread: one 4 × 128 × 312 input through a network of
//! the reference architecture (seeded random weights), optimized and reference kernels, plus each
//! convolution alone. Run: `cargo bench -p core-nostd --bench inference`.
//! Throughput is in multiply-accumulates (criterion's "elem/s" = MAC/s). Results go to
//! bench/RESULTS.md.

#[path = "../tests/common/mod.rs"]
mod common;

use core_nostd::inference::{
    Kernels, classify, flash_bytes, network_scratch_bytes, run_network, scratch_bytes,
};
use core_nostd::model::{Layer, Model};
use core_nostd::nn;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;
use std::time::Duration;

fn bench_inference(c: &mut Criterion) {
    let bytes = common::reference_model(1);
    let model = Model::parse(&bytes).expect("valid model");
    let input = common::feature_input(7);
    let mut scratch = vec![0_u8; scratch_bytes(&model)];
    let network = model.composer_network();
    let macs = network.macs();
    eprintln!(
        "reference architecture: {macs} MACs per network ({} for both), scratch {} bytes \
         (composer network alone {}), file {} bytes, parameters {} bytes per network",
        macs + model.instrument_network().macs(),
        scratch.len(),
        network_scratch_bytes(network),
        flash_bytes(&model),
        network.parameter_bytes(),
    );
    for (i, layer) in network.layers().iter().enumerate() {
        eprintln!(
            "  layer {i}: {:?} -> {:?}, {} MACs",
            layer.input_shape(),
            layer.output_shape(),
            layer.macs()
        );
    }

    let mut group = c.benchmark_group("network");
    group.throughput(Throughput::Elements(macs));
    group.bench_function("composer network, optimized kernels", |b| {
        b.iter(|| run_network(network, black_box(&input), &mut scratch, Kernels::Optimized))
    });
    group.bench_function("both networks + probabilities (classify)", |b| {
        b.iter(|| classify(&model, black_box(&input), &mut scratch))
    });
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(20));
    group.bench_function("composer network, reference kernels", |b| {
        b.iter(|| run_network(network, black_box(&input), &mut scratch, Kernels::Reference))
    });
    group.finish();

    // Each convolution alone on random input of its shape (the optimized kernel).
    let mut group = c.benchmark_group("conv2d");
    let mut rng = common::Rng::new(3);
    for (i, layer) in network.layers().iter().enumerate() {
        let Layer::Conv2d(conv) = layer else { continue };
        let input: Vec<i8> = (0..conv.input_shape().len()).map(|_| rng.i8()).collect();
        let mut output = vec![0_i8; conv.output_shape().len()];
        let mut workspace = vec![0_i16; conv.workspace_len()];
        let [kh, kw] = conv.kernel();
        let name = format!(
            "layer {i}: {}→{} k{kh}x{kw} s{:?} on {}x{}",
            conv.input_shape().channels,
            conv.output_shape().channels,
            conv.stride(),
            conv.input_shape().height,
            conv.input_shape().width,
        );
        group.throughput(Throughput::Elements(conv.macs()));
        group.bench_function(&name, |b| {
            b.iter(|| nn::conv2d(conv, black_box(&input), &mut output, &mut workspace))
        });
    }
    group.finish();
}

criterion_group!(benches, bench_inference);
criterion_main!(benches);
