//! Host latency of the int8 inference on one thread: one 4 × 128 × 312 input through a network of
//! the reference architecture (seeded random weights), optimized and reference kernels, plus each
//! convolution alone. Run: `cargo bench -p core-nostd --bench inference`.
//! Throughput is in multiply-accumulates (criterion's "elem/s" = MAC/s). Results go to
//! bench/RESULTS.md.
//!
//! Before criterion runs, the optimized network is also timed in **thread CPU time** (Linux
//! `clock_gettime(CLOCK_THREAD_CPUTIME_ID)`), best and median of 15 rounds of 20 runs:
//! on a shared, loaded machine CPU time is what compares with `bench/torch_peer_cnn.py`'s
//! `time.process_time()` (wall clock also counts the time other processes hold the core).
//! `INFERENCE_CPU_ONLY=1` stops after that measurement.

#[path = "../tests/common/mod.rs"]
mod common;

use core_nostd::inference::{
    Kernels, classify, flash_bytes, network_scratch_bytes, run_network, scratch_bytes,
};
use core_nostd::model::{Layer, Model};
use core_nostd::nn;
use core_nostd::nn::dispatch::{self, Isa};
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

    cpu_time(
        &format!(
            "composer network, optimized kernels ({})",
            nn::dispatch::describe()
        ),
        || {
            let _ = black_box(run_network(
                network,
                black_box(&input),
                &mut scratch,
                Kernels::Optimized,
            ));
        },
    );
    // Each convolution alone, at every instruction-set level this CPU runs.
    let mut rng = common::Rng::new(3);
    for (i, layer) in network.layers().iter().enumerate() {
        let Layer::Conv2d(conv) = layer else { continue };
        let (input, mut output, mut workspace) = conv_buffers(conv, &mut rng);
        for isa in Isa::ALL
            .into_iter()
            .filter(|&isa| dispatch::usable(isa) == isa)
        {
            cpu_time(&format!("  layer {i} conv2d, {}", isa.name()), || {
                nn::conv2d::conv2d_on(isa, conv, black_box(&input), &mut output, &mut workspace);
            });
        }
    }
    if std::env::var_os("INFERENCE_CPU_ONLY").is_some() {
        std::process::exit(0);
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
        let (input, mut output, mut workspace) = conv_buffers(conv, &mut rng);
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

/// Nanoseconds this thread has spent on a CPU: `clock_gettime(CLOCK_THREAD_CPUTIME_ID)` on Linux
/// (what Python's `time.process_time` reads for the whole process); `None` elsewhere.
#[cfg(all(target_os = "linux", target_pointer_width = "64"))]
#[allow(unsafe_code)]
fn thread_cpu_ns() -> Option<u64> {
    #[repr(C)]
    struct Timespec {
        seconds: i64,
        nanoseconds: i64,
    }
    unsafe extern "C" {
        fn clock_gettime(clock: i32, time: *mut Timespec) -> i32;
    }
    const CLOCK_THREAD_CPUTIME_ID: i32 = 3;
    let mut time = Timespec {
        seconds: 0,
        nanoseconds: 0,
    };
    // SAFETY: glibc's and musl's `clock_gettime(clockid_t, struct timespec *)` on 64-bit Linux:
    // `clockid_t` is a C int, `struct timespec` two 64-bit fields, and `time` is a valid, writable
    // one for the duration of the call.
    let status = unsafe { clock_gettime(CLOCK_THREAD_CPUTIME_ID, &mut time) };
    let ns = time
        .seconds
        .checked_mul(1_000_000_000)?
        .checked_add(time.nanoseconds)?;
    if status == 0 {
        u64::try_from(ns).ok()
    } else {
        None
    }
}

#[cfg(not(all(target_os = "linux", target_pointer_width = "64")))]
fn thread_cpu_ns() -> Option<u64> {
    None
}

/// Prints the best and median thread CPU time per call of `f` over 15 rounds of 20 calls (after
/// 20 warm-up calls).
fn cpu_time(name: &str, mut f: impl FnMut()) {
    for _ in 0..20 {
        f();
    }
    let mut per_call = Vec::new();
    for _ in 0..15 {
        let (Some(start), n) = (thread_cpu_ns(), 20) else {
            eprintln!("{name}: thread CPU time not available on this system");
            return;
        };
        for _ in 0..n {
            f();
        }
        let end = thread_cpu_ns().unwrap_or(start);
        per_call.push((end - start) as f64 / f64::from(n) / 1e6);
    }
    per_call.sort_by(f64::total_cmp);
    eprintln!(
        "{name}: thread CPU time per call best {:.2} ms, median {:.2} ms (15 × 20 calls)",
        per_call[0],
        per_call[per_call.len() / 2]
    );
}

criterion_group!(benches, bench_inference);
criterion_main!(benches);

/// Random input of `conv`'s shape, and its output and workspace buffers.
fn conv_buffers(conv: &nn::Conv2d<'_>, rng: &mut common::Rng) -> (Vec<i8>, Vec<i8>, Vec<i16>) {
    let input = (0..conv.input_shape().len()).map(|_| rng.i8()).collect();
    (
        input,
        vec![0; conv.output_shape().len()],
        vec![0; conv.workspace_len()],
    )
}
