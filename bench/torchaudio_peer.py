"""The peer of the front-end benchmark: torchaudio's Spectrogram(n_fft=256, hop_length=128,
power=2) followed by log, on five-second 8 kHz windows, one thread, as the reference notebook
computed its features. Prints windows per second.

Setup (not part of CI; torch's PyPI wheel pulls its CUDA libraries, about 3 GB):
    python3 -m venv /tmp/torchenv && /tmp/torchenv/bin/pip install torch torchaudio
Run:
    /tmp/torchenv/bin/python bench/torchaudio_peer.py
"""

import time

import torch
import torchaudio

torch.set_num_threads(1)
WINDOW_SAMPLES = 40_064  # the same 312-frame window as core-nostd
BATCHES = 200

spectrogram = torchaudio.transforms.Spectrogram(n_fft=256, hop_length=128, power=2.0)
generator = torch.Generator().manual_seed(0)
windows = (torch.rand((BATCHES, WINDOW_SAMPLES), generator=generator) * 2 - 1) * 0.3


def features(window: torch.Tensor) -> torch.Tensor:
    return torch.log(spectrogram(window) + 1e-10)


for window in windows[:20]:  # warm-up
    features(window)

best = 0.0
for _ in range(5):
    start = time.perf_counter()
    for window in windows:
        features(window)
    elapsed = time.perf_counter() - start
    best = max(best, BATCHES / elapsed)
shape = tuple(features(windows[0]).shape)
print(f"torch {torch.__version__}, torchaudio {torchaudio.__version__}, 1 thread")
print(f"feature shape per window: {shape}")
print(f"best of 5 runs: {best:.0f} windows/s (one window at a time)")

# The same work as one batched call (torch amortizes its per-call overhead over 200 windows).
best_batched = 0.0
for _ in range(5):
    start = time.perf_counter()
    features(windows)
    elapsed = time.perf_counter() - start
    best_batched = max(best_batched, BATCHES / elapsed)
print(f"best of 5 runs: {best_batched:.0f} windows/s (batches of {BATCHES})")
