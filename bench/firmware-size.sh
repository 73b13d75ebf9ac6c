#!/usr/bin/env bash
# Flash and static RAM of firmware-demo, from llvm-size (llvm-tools component), for both memory
# maps and three embedded models: none (the front end alone), and the seeded random-weight
# reference (4 windows) and compact (1 window) models of tests/src/bin/make-test-models.rs (same
# shapes, so the same sizes, as trained ones).
# Flash = .vector_table + .text + .rodata + .data; static RAM = .data + .bss + .uninit (the
# streaming scratch is in .bss). The stack comes on top of static RAM: the firmware reports its
# painted high-water mark, and tests/tests/firmware_qemu.rs checks static + stack <= 128 KiB.
#
# With --check, fails if an STM32F405 build exceeds its budget below (a regression) or the chip
# (1 MB flash, 128 KB SRAM). Budgets: measured sizes (bench/RESULTS.md) plus about 5% of flash
# and 2 KiB of RAM; raise them deliberately, with the reason, when a change needs more.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root/firmware-demo"
unset CARGO_TARGET_DIR
size=$(find "$(rustc --print sysroot)" -name llvm-size -path '*x86_64*' | head -1)
[ -x "$size" ] || { echo "llvm-size not found: rustup component add llvm-tools" >&2; exit 1; }
models="$root/target/firmware-models"
(cd "$root" && cargo run --quiet --locked -p workspace-tests --bin make-test-models -- "$models" >/dev/null)

# model -> "flash-budget ram-budget" (bytes) for the STM32F405 build.
declare -A budget=(
  [none]="110000 2048"
  [reference-random]="560000 88500"
  [compact-random]="331000 40000"
)
status=0
for board in mps2-an386 stm32f405; do
  features=(); [ "$board" = stm32f405 ] && features=(--features stm32f405)
  for model in none reference-random compact-random; do
    file=""; [ "$model" != none ] && file="$models/$model.cmpcls"
    target_dir="target/size-$board"
    FIRMWARE_MODEL="$file" cargo build --release --quiet --locked "${features[@]}" \
      --target-dir "$target_dir"
    elf="$target_dir/thumbv7em-none-eabihf/release/firmware-demo"
    read -r flash ram < <("$size" -A "$elf" | awk '
      $1 == ".vector_table" || $1 == ".text" || $1 == ".rodata" { flash += $2 }
      $1 == ".data" { flash += $2; ram += $2 }
      $1 == ".bss" || $1 == ".uninit" { ram += $2 }
      END { print flash, ram }')
    echo "$board, model $model: flash $flash bytes, static RAM $ram bytes"
    if [ "${1:-}" = --check ] && [ "$board" = stm32f405 ]; then
      read -r flash_budget ram_budget <<< "${budget[$model]}"
      [ "$flash" -le "$flash_budget" ] || { echo "  flash over its budget of $flash_budget" >&2; status=1; }
      [ "$ram" -le "$ram_budget" ] || { echo "  static RAM over its budget of $ram_budget" >&2; status=1; }
      [ "$flash" -le $((1024 * 1024)) ] || { echo "  over the 1 MB flash" >&2; status=1; }
      [ "$ram" -le $((128 * 1024)) ] || { echo "  over the 128 KB SRAM" >&2; status=1; }
    fi
  done
done
exit $status
