#!/usr/bin/env bash
# Throughput, peak memory and startup of `host-cli classify` (issue 7).
#
#   bench/classify.sh [RUNS]
#
# 1. Builds host-cli (release) and renders a 10-minute test recording once into
#    bench/out/classify/: five pieces of the corpus test split (../shared/corpus) rendered by
#    `trainer render` with FluidR3_GM at 44.1 kHz stereo 16-bit (a CD-like file, so decoding and
#    resampling are part of the measurement), joined and cut to exactly 600 s.
# 2. Classifies it RUNS times (default 3) with --jobs 1 and with all cores, under
#    /usr/bin/time -v: wall time, CPU share, peak resident memory, and the JSON's own split
#    between loading (decode + resample) and analysis (front end + int8 inference). Also prints
#    the load average, since other work on the machine changes what threads can gain.
# 3. Runs the README command (`host-cli classify assets/example-mozart-k156.flac`) 10 times:
#    wall time from process start to the answer printed.
#
# Needs: cargo, python3 (standard library only), /usr/bin/time (GNU), the SoundFont
# /usr/share/sounds/sf2/FluidR3_GM.sf2 (Debian fluid-soundfont-gm). Set TRAINER to a built
# trainer binary to skip building it; CARGO_TARGET_DIR is honoured.
set -euo pipefail
cd "$(dirname "$0")/.."

RUNS=${1:-3}
OUT=bench/out/classify
TARGET=${CARGO_TARGET_DIR:-target}
CORPUS=${CORPUS:-../shared/corpus}
SOUNDFONT=${SOUNDFONT:-/usr/share/sounds/sf2/FluidR3_GM.sf2}
PIECES=3038,3039,3040,3041,3057
mkdir -p "$OUT"

cargo build --release -q -p host-cli
CLI="$TARGET/release/host-cli"
if [[ -z "${TRAINER:-}" ]]; then
    cargo build --release -q -p trainer
    TRAINER="$TARGET/release/trainer"
fi

RECORDING="$OUT/ten-minutes-44k1-stereo.wav"
if [[ ! -f "$RECORDING" ]]; then
    "$TRAINER" render "$CORPUS" --out "$OUT/render" --soundfont "$SOUNDFONT" \
        --sample-rate 44100 --channels 2 --ids "$PIECES" >&2
    python3 - "$OUT/render/test_data" "$RECORDING" "${PIECES//,/ }" <<'EOF'
import sys, wave
folder, out, ids = sys.argv[1], sys.argv[2], sys.argv[3].split()
want = 600 * 44100
with wave.open(out + ".tmp", "wb") as w:
    w.setnchannels(2); w.setsampwidth(2); w.setframerate(44100)
    left = want
    for i in ids:
        with wave.open(f"{folder}/{i}.wav", "rb") as r:
            assert (r.getnchannels(), r.getsampwidth(), r.getframerate()) == (2, 2, 44100)
            n = min(left, r.getnframes())
            w.writeframes(r.readframes(n)); left -= n
    assert left == 0, f"pieces too short by {left} frames"
import os; os.replace(out + ".tmp", out)
EOF
fi

CORES=$(nproc)
echo "machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $CORES cores"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "recording: $RECORDING ($(stat -c %s "$RECORDING") bytes, 600 s, 44.1 kHz stereo 16-bit)"
echo
echo "| threads | run | wall (s) | audio s / wall s | CPU | peak RSS (MiB) | load (s) | analyse (s) |"
echo "|---|---|---|---|---|---|---|---|"
for jobs in 1 "$CORES"; do
    for run in $(seq 1 "$RUNS"); do
        /usr/bin/time -v "$CLI" classify --json --jobs "$jobs" "$RECORDING" \
            >"$OUT/classify-$jobs.json" 2>"$OUT/time-$jobs.txt"
        python3 - "$OUT/classify-$jobs.json" "$OUT/time-$jobs.txt" "$jobs" "$run" <<'EOF'
import json, re, sys
report, times, jobs, run = sys.argv[1:]
t = open(times).read()
m = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (?:(\d+):)?(\d+):([\d.]+)", t)
wall = int(m.group(1) or 0) * 3600 + int(m.group(2)) * 60 + float(m.group(3))
rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", t).group(1)) / 1024
cpu = re.search(r"Percent of CPU this job got: (\d+)%", t).group(1)
f = json.load(open(report))["files"][0]
print(f"| {jobs} | {run} | {wall:.2f} | {f['seconds'] / wall:.0f} | {cpu}% | {rss:.0f} | "
      f"{f['timing']['load_s']:.2f} | {f['timing']['analyse_s']:.2f} |")
EOF
    done
done

echo
echo "startup to first answer, README command (10 runs, wall seconds):"
EXAMPLE=assets/example-mozart-k156.flac
python3 - "$CLI" "$EXAMPLE" <<'EOF'
import statistics, subprocess, sys, time
cli, example = sys.argv[1:]
walls = []
for _ in range(10):
    start = time.perf_counter()
    subprocess.run([cli, "classify", example], check=True, stdout=subprocess.DEVNULL)
    walls.append(time.perf_counter() - start)
print(f"min {min(walls):.3f} s, median {statistics.median(walls):.3f} s, max {max(walls):.3f} s")
EOF
