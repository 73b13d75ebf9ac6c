//! Training throughput: windows per second through forward + backward + Adam of both networks,
//! on random feature codes (the data path is not timed).
//!
//! ```text
//! cargo run --release --example fit_throughput -- [reference|compact] [batch] [steps] [flex|ndarray]
//! ```
//! Threads: rayon's global pool (`RAYON_NUM_THREADS`, default all cores).

use burn::module::{Module, ModuleVisitor, Param};
use burn::tensor::{Device, Tensor};
use rand::{RngExt, SeedableRng};
use std::time::Instant;
use trainer::model::{ModelConfig, Networks, Preset};
use trainer::sampler::Example;
use trainer::training::step::{LearningRates, Losses, Optimizers, batch_tensors, train_step};

/// FNV-1a over the bits of every float parameter: equal hashes, bit-identical weights.
struct WeightHash(u64);

impl ModuleVisitor for WeightHash {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        for value in param.val().into_data().iter::<f32>() {
            for byte in value.to_bits().to_le_bytes() {
                self.0 = (self.0 ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3);
            }
        }
    }
}

const COMPOSERS: usize = 7;
const INSTRUMENTS: usize = 10;

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let preset = match args.first().map(String::as_str) {
        None | Some("reference") => Preset::Reference,
        Some("compact") => Preset::Compact,
        Some(other) => anyhow::bail!("unknown config {other}"),
    };
    let batch: usize = args.get(1).map_or(Ok(16), |s| s.parse())?;
    let steps: usize = args.get(2).map_or(Ok(5), |s| s.parse())?;
    let device = match args.get(3).map(String::as_str) {
        None | Some("flex") => Device::flex(),
        #[cfg(feature = "ndarray-backend")]
        #[allow(deprecated)]
        Some("ndarray") => Device::ndarray(),
        Some(other) => {
            anyhow::bail!("unknown backend {other} (ndarray needs --features ndarray-backend)")
        }
    };
    let config = ModelConfig::from_preset(preset);
    let train_device = device.clone().autodiff();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
    let per_example: usize = config.input_shape().iter().product();
    let examples: Vec<Example> = (0..batch)
        .map(|i| Example {
            recording: i as u32,
            starts: vec![0; config.stack],
            features: (0..per_example).map(|_| rng.random::<i8>()).collect(),
            composer: i % COMPOSERS,
            instruments: (0..INSTRUMENTS).map(|j| (i + j) % 3 == 0).collect(),
        })
        .collect();
    let mut networks = Networks::new(&config, COMPOSERS, INSTRUMENTS, 0, &train_device)?;
    let mut optimizers = Optimizers::new();
    let losses = Losses::new(&train_device);
    let rates = LearningRates {
        composer: 1e-3,
        instruments: 1e-4,
    };
    let mut timings = Vec::new();
    for step in 0..=steps {
        let started = Instant::now();
        let tensors = batch_tensors(&examples, &config, COMPOSERS, INSTRUMENTS, &train_device)?;
        let (updated, loss) = train_step(networks, &mut optimizers, rates, &losses, tensors);
        networks = updated;
        let seconds = started.elapsed().as_secs_f64();
        eprintln!(
            "step {step}: {seconds:.3} s, loss {:.3} / {:.3}{}",
            loss.composer,
            loss.instruments,
            if step == 0 {
                " (warm-up, not counted)"
            } else {
                ""
            }
        );
        if step > 0 {
            timings.push(seconds);
        }
    }
    let mut hash = WeightHash(0xcbf2_9ce4_8422_2325);
    networks.valid().visit(&mut hash);
    let total: f64 = timings.iter().sum();
    let windows = (steps * batch * config.stack) as f64;
    println!(
        "{preset:?} batch {batch} x {} windows, {steps} steps, {:?}, {} threads: {:.3} s/step, \
         {:.1} windows/s, weights hash {:016x}",
        config.stack,
        device,
        rayon::current_num_threads(),
        total / steps.max(1) as f64,
        windows / total,
        hash.0
    );
    Ok(())
}
