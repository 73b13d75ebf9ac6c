#!/usr/bin/env bash
# Counts the Cortex-M4 instructions the firmware executes in its measured region (streaming the
# embedded clip through the front end, bracketed by bench_start/bench_end in firmware-demo) and
# divides by the frames it produced.
#
# QEMU does not emulate the DWT cycle counter, so this runs QEMU with one instruction per
# translation block (-singlestep) and logs every executed block (-d exec,nochain): one log line
# per instruction. awk counts the lines between the two marker functions' addresses.
#
# Usage: bench/firmware-insns.sh [mps2-an386|netduinoplus2]     (needs qemu-system-arm, llvm-tools)
set -euo pipefail
machine=${1:-mps2-an386}
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root/firmware-demo"
features=()
[ "$machine" = netduinoplus2 ] && features=(--features stm32f405)
cargo build --release --quiet "${features[@]}"
elf=target/thumbv7em-none-eabihf/release/firmware-demo
bin=$(dirname "$(find "$(rustc --print sysroot)" -name llvm-nm -path '*x86_64*' | head -1)")
addr() { "$bin/llvm-nm" -C "$elf" | awk -v f="firmware_demo::$1::" 'index($3, f) == 1 { print $1 }'; }
start=$(addr bench_start); end=$(addr bench_end)
[ -n "$start" ] && [ -n "$end" ] || { echo "marker symbols not found in $elf" >&2; exit 1; }

fifo=$(mktemp -u); mkfifo "$fifo"; trap 'rm -f "$fifo"' EXIT
awk -v s="$start" -v e="$end" '
  { split($0, a, /[\[\/]/); pc = a[3] }
  state == 0 && pc == s { state = 1 }
  state == 1 { n++ }
  state == 1 && pc == e { state = 2 }
  END { print n }' "$fifo" > "$fifo.count" &
cpu=(); [ "$machine" = mps2-an386 ] && cpu=(-cpu cortex-m4)
output=$(timeout 600 qemu-system-arm "${cpu[@]}" -machine "$machine" -nographic \
  -semihosting-config enable=on,target=native -singlestep -d exec,nochain -D "$fifo" -kernel "$elf")
wait
insns=$(cat "$fifo.count"); rm -f "$fifo.count"
frames=$(printf '%s\n' "$output" | awk '/^frames:/ { print $2 }')
printf '%s\n' "$output" | grep -E 'result:'
echo "machine: $machine"
echo "measured region: $insns instructions for $frames frames (40,064 samples pushed in 32-sample chunks)"
echo "per frame: $(( insns / frames )) instructions (window, FFT, power, log-quantize, streaming buffer, i16 decode of the clip)"
