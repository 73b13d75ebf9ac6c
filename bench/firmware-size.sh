#!/usr/bin/env bash
# Flash and RAM of firmware-demo for both memory maps, from llvm-size (llvm-tools component).
# Flash = .vector_table + .text + .rodata + .data; static RAM = .data + .bss + .uninit.
# The stack comes on top of static RAM (see bench/RESULTS.md).
# With --check, fails if the STM32F405 build exceeds its 1 MB flash or 128 KB SRAM.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root/firmware-demo"
size=$(find "$(rustc --print sysroot)" -name llvm-size -path '*x86_64*' | head -1)
[ -x "$size" ] || { echo "llvm-size not found: rustup component add llvm-tools" >&2; exit 1; }
status=0
for board in mps2-an386 stm32f405; do
  features=(); [ "$board" = stm32f405 ] && features=(--features stm32f405)
  target_dir="target/size-$board"
  cargo build --release --quiet --locked "${features[@]}" --target-dir "$target_dir"
  elf="$target_dir/thumbv7em-none-eabihf/release/firmware-demo"
  read -r flash ram < <("$size" -A "$elf" | awk '
    $1 == ".vector_table" || $1 == ".text" || $1 == ".rodata" { flash += $2 }
    $1 == ".data" { flash += $2; ram += $2 }
    $1 == ".bss" || $1 == ".uninit" { ram += $2 }
    END { print flash, ram }')
  echo "$board: flash $flash bytes, static RAM $ram bytes"
  if [ "${1:-}" = --check ] && [ "$board" = stm32f405 ]; then
    [ "$flash" -le $((1024 * 1024)) ] || { echo "  over the 1 MB flash budget" >&2; status=1; }
    [ "$ram" -le $((128 * 1024)) ] || { echo "  over the 128 KB SRAM budget" >&2; status=1; }
  fi
done
exit $status
