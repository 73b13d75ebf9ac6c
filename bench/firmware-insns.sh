#!/usr/bin/env bash
# Counts the Cortex-M4 instructions firmware-demo executes under QEMU, with a small TCG plugin
# (bench/qemu-insn-count.c; QEMU does not emulate the DWT cycle counter and Debian ships no
# libinsn.so):
#   - the front end: streaming the embedded clip through one front end (bench_start..bench_end),
#     per 16 ms frame;
#   - the classification (infer_start..infer_end): the stacked windows' front ends and both int8
#     networks, streamed column by column; per inference, per MAC of the convolutions (the column
#     convolution kernel and its SMLAD dot products, attributed by symbol), and a real-time
#     factor on a 168 MHz Cortex-M4 (see the assumptions printed at the end).
#
# Usage: bench/firmware-insns.sh [mps2-an386|netduinoplus2] [MODEL]
#   MODEL: a model file to embed (FIRMWARE_MODEL), default the firmware's (models/reference.cmpcls
#   when present). Needs qemu-system-arm, gcc, llvm-tools (llvm-nm).
set -euo pipefail
machine=${1:-mps2-an386}
model=${2:-}
if [ -n "$model" ]; then model=$(realpath -e "$model"); fi
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root/firmware-demo"
# The firmware's own target directory (a CARGO_TARGET_DIR from the environment would build elsewhere).
export CARGO_TARGET_DIR="$root/firmware-demo/target"
features=()
[ "$machine" = netduinoplus2 ] && features=(--features stm32f405)
if [ -n "$model" ]; then export FIRMWARE_MODEL="$model"; fi
cargo build --release --quiet "${features[@]}"
elf=target/thumbv7em-none-eabihf/release/firmware-demo
work=target/insns; mkdir -p "$work"
plugin=$work/libinsncount.so
gcc -O2 -shared -fPIC -o "$plugin" "$root/bench/qemu-insn-count.c"
nm=$(find "$(rustc --print sysroot)" -name llvm-nm -path '*x86_64*' | head -1)
"$nm" --print-size -C "$elf" | awk 'NF >= 4 && ($3 == "T" || $3 == "t") {
  name = $4; for (i = 5; i <= NF; i++) name = name " " $i; print $1, $2, name }' > "$work/symbols.txt"
addr() { "$nm" -C "$elf" | awk -v f="firmware_demo::$1::" 'index($3, f) == 1 { print $1 }'; }
marks="$(addr bench_start):$(addr bench_end):$(addr infer_start):$(addr infer_end)"
cpu=(); [ "$machine" = mps2-an386 ] && cpu=(-cpu cortex-m4)
rm -f "$work/plugin.log"
timeout 600 qemu-system-arm "${cpu[@]}" -machine "$machine" -nographic \
  -semihosting-config enable=on,target=native \
  -plugin "$plugin,marks=$marks,symbols=$work/symbols.txt" -d plugin -D "$work/plugin.log" \
  -kernel "$elf" > "$work/stdout.txt"
grep -E '^(result|model|host scores|memory):' "$work/stdout.txt" || true
awk -v marks="$marks" -v machine="$machine" -v out="$work/stdout.txt" '
  BEGIN {
    split(marks, m, ":")
    for (i = 1; i <= 4; i++) { key = tolower(m[i]); sub(/^0*/, "", key); id["0x" key] = i }
    while ((getline line < out) > 0) {
      if (line ~ /^frames:/) { split(line, f, " "); frames = f[2] }
      if (line ~ /^model:/) {
        # "model: NAME (BYTES bytes in flash; S window(s) per input; A + B MACs)"
        n = split(line, w, /[ ;()]+/)
        for (i = 1; i <= n; i++) if (w[i] == "MACs") { macs = w[i - 3] + w[i - 1] }
        for (i = 1; i <= n; i++) if (w[i] == "window") { stack = w[i - 1] }
      }
    }
  }
  $1 == "mark" { a = $2; sub(/^0x0*/, "0x", a); k = id[a]; if (!(k in first)) first[k] = $3 }
  $1 == "symbol" && (($3 ~ /nn::column::/ && $3 !~ /maxpool/) || $3 ~ /nn::dsp::/) { conv += $2 }
  $1 == "total" { total = $2 }
  END {
    fe = first[2] - first[1]
    printf "machine: %s\n", machine
    printf "front end: %d instructions for %d frames (40,064 samples in 32-sample chunks): %d per frame\n", fe, frames, fe / frames
    if (first[3] == "") { print "no model embedded: no classification region"; exit }
    inf = first[4] - first[3]
    printf "classification: %d instructions per inference (%d stacked window(s) of 312 frames, both networks)\n", inf, stack
    printf "  convolutions (column kernel + SMLAD dot products): %d instructions\n", conv
    printf "  MACs per inference (both networks): %d; conv instructions per MAC: %.3f; all instructions per MAC: %.3f\n", macs, conv / macs, inf / macs
    printf "  of which the stacked windows front ends: about %d (%d x 312 frames x %d)\n", stack * 312 * (fe / frames), stack, fe / frames
    cycles_per_insn = 1.3
    seconds = inf * cycles_per_insn / 168e6
    printf "real-time estimate at 168 MHz, %.1f cycles per instruction: %.2f s per inference; a stack of %d consecutive windows covers %.2f s of new audio: %.2f of real time (x%.1f faster than real time)\n", cycles_per_insn, seconds, stack, stack * 5.008, seconds / (stack * 5.008), stack * 5.008 / seconds
    print "  assumptions: SMLAD/SMULL/ALU 1 cycle, loads 1-2, taken branches 2-4 (about 1.3 on average for these loops), code and weights in flash behind the ART accelerator (5 wait states at 168 MHz, hidden in loops), activations in SRAM; no DMA or interrupt load"
  }' "$work/plugin.log"
