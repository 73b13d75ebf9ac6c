//! Classification of the embedded clip: stacked windows through lockstep streaming front ends into
//! the streaming int8 networks, then the report and the comparison with the host.

use crate::{
    CHUNK, CLIP_SAMPLES, HOST_COMPOSER_LOGITS, HOST_COMPOSER_Q15, HOST_INSTRUMENT_LOGITS,
    HOST_INSTRUMENT_Q15, MODEL, MODEL_NAME, infer_end, infer_start, report, sample,
};
use core_nostd::frontend::{BINS, StreamingFrontEnd, WINDOW_SAMPLES};
use core_nostd::inference::{Output, Scores};
use core_nostd::model::Model;
use core_nostd::streaming::{StreamConfig, StreamingClassifier, put_frame, window_starts};

/// Most stacked windows this firmware feeds (the reference model's 4): one streaming front end
/// (about 0.5 KiB) each.
pub const MAX_WINDOWS: usize = 4;

/// Q15 probability at and above which an instrument counts as playing (0.5).
const PRESENT_Q15: u16 = 1 << 14;

/// Parses the embedded model, classifies the clip, reports; `true` when the logits equal the
/// host's.
pub fn run(scratch: &mut [u8]) -> bool {
    let model = match Model::parse(MODEL) {
        Ok(model) => model,
        Err(error) => {
            report::line(format_args!("model {MODEL_NAME}: {error}"));
            return false;
        }
    };
    let (composer, instruments) = (model.composer_network(), model.instrument_network());
    report::line(format_args!(
        "model: {} ({} bytes in flash; {} window(s) per input; {} + {} MACs)",
        MODEL_NAME,
        model.file_len(),
        model.stack(),
        composer.macs(),
        instruments.macs()
    ));
    let stack = model.stack();
    if stack > MAX_WINDOWS {
        report::line(format_args!(
            "model stacks {stack} windows; this firmware feeds at most {MAX_WINDOWS}"
        ));
        return false;
    }
    let mut starts = [0_usize; MAX_WINDOWS];
    for (slot, start) in starts.iter_mut().zip(window_starts(CLIP_SAMPLES, stack)) {
        *slot = start;
    }
    let starts = &starts[..stack];
    report::line(format_args!("window starts (samples): {}", List(starts)));

    let mut stream = match StreamingClassifier::new(&model, scratch, StreamConfig::default()) {
        Ok(stream) => stream,
        Err(error) => {
            report::line(format_args!("streaming: {error}"));
            return false;
        }
    };
    infer_start();
    let output = classify(&mut stream, starts);
    infer_end();
    let output = match output {
        Ok(output) => output,
        Err(error) => {
            report::line(format_args!("streaming: {error}"));
            return false;
        }
    };

    scores("composer", &output.composers);
    scores("instrument", &output.instruments);
    if let Some(best) = output.composers.best() {
        let name = model.composers().get(best).copied().unwrap_or("?");
        let q15 = output.composers.probabilities_q15().get(best).copied();
        report::line(format_args!(
            "composer: {name} ({})",
            Percent(q15.unwrap_or(0))
        ));
    }
    report::line(format_args!(
        "instruments (p >= 0.5): {}",
        Present(&model, &output)
    ));
    let ok = output.composers.logits() == HOST_COMPOSER_LOGITS
        && output.instruments.logits() == HOST_INSTRUMENT_LOGITS
        && output.composers.probabilities_q15() == HOST_COMPOSER_Q15
        && output.instruments.probabilities_q15() == HOST_INSTRUMENT_Q15;
    report::line(format_args!(
        "host scores: {}",
        if ok { "MATCH" } else { "MISMATCH" }
    ));
    ok
}

/// Feeds `WINDOW_SAMPLES` samples of each window, in `CHUNK`s and in lockstep, through one
/// streaming front end per window; every time all windows have a new frame, that column goes
/// into the networks.
fn classify(
    stream: &mut StreamingClassifier<'_, '_, '_>,
    starts: &[usize],
) -> Result<Output, core_nostd::streaming::StreamError> {
    let stack = starts.len();
    let mut front_ends: [StreamingFrontEnd; MAX_WINDOWS] =
        core::array::from_fn(|_| StreamingFrontEnd::new());
    let mut column = [0_i8; BINS * MAX_WINDOWS];
    let column = &mut column[..stream.column_len()];
    let mut chunk = [0_i16; CHUNK];
    let mut fed = 0;
    while fed < WINDOW_SAMPLES {
        let mut complete = 0;
        for (window, (front_end, &start)) in front_ends.iter_mut().zip(starts).enumerate() {
            for (i, slot) in chunk.iter_mut().enumerate() {
                *slot = sample(start + fed + i);
            }
            front_end.push(&chunk, |frame| {
                put_frame(column, stack, window, frame);
                complete += 1;
            });
        }
        fed += CHUNK;
        // The windows start in step, so they complete their frames together.
        if complete == stack {
            stream.push_column(column)?;
        }
    }
    stream.finish()
}

/// Prints one network's logits and Q15 probabilities.
fn scores(what: &str, scores: &Scores) {
    report::line(format_args!("{what} logits: {}", List(scores.logits())));
    report::line(format_args!(
        "{what} q15: {}",
        List(scores.probabilities_q15())
    ));
}

/// Space-separated values.
struct List<'a, T>(&'a [T]);

impl<T: core::fmt::Display> core::fmt::Display for List<'_, T> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        for (i, value) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            write!(f, "{value}")?;
        }
        Ok(())
    }
}

/// A Q15 probability as a percentage with one decimal (integer arithmetic).
struct Percent(u16);

impl core::fmt::Display for Percent {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let tenths = (u32::from(self.0) * 1000 + (1 << 14)) >> 15;
        write!(f, "{}.{}%", tenths / 10, tenths % 10)
    }
}

/// The instruments at or above [`PRESENT_Q15`], with their probabilities.
struct Present<'m, 'a>(&'m Model<'a>, &'m Output);

impl core::fmt::Display for Present<'_, '_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let mut any = false;
        for (name, &q15) in self
            .0
            .instruments()
            .iter()
            .zip(self.1.instruments.probabilities_q15())
        {
            if q15 >= PRESENT_Q15 {
                if any {
                    f.write_str(", ")?;
                }
                write!(f, "{name} ({})", Percent(q15))?;
                any = true;
            }
        }
        if !any {
            f.write_str("none")?;
        }
        Ok(())
    }
}
