"""PyTorch fp32 peer of core-nostd's int8 inference bench: one 4 x 128 x 312 input through the
reference CNN (DESIGN.md "Model"; padding 1 on the k3 layers, so the flatten is 128 x 8 x 9 =
9,216), batch 1, one thread, eval mode, BatchNorm kept (not folded). Prints ms per network."""
import time
import torch
from torch import nn

torch.set_num_threads(1)
torch.manual_seed(0)


def block(i, o, k, s, p, pool):
    layers = [nn.Conv2d(i, o, k, s, p), nn.BatchNorm2d(o), nn.ReLU()]
    if pool:
        layers.append(nn.MaxPool2d(2))
    return layers


net = nn.Sequential(
    *block(4, 16, (3, 7), (1, 2), (1, 3), False),
    *block(16, 16, (3, 5), (2, 2), (1, 2), False),
    *block(16, 32, 3, 1, 1, True),
    *block(32, 64, 3, 1, 1, True),
    *block(64, 128, 3, 1, 1, True),
    nn.Flatten(),
    nn.Linear(128 * 8 * 9, 7),
).eval()
x = torch.randn(1, 4, 128, 312)
with torch.inference_mode():
    assert net(x).shape == (1, 7)
    for _ in range(20):
        net(x)
    wall, cpu = [], []
    for _ in range(10):
        n = 50
        t, c = time.perf_counter(), time.process_time()
        for _ in range(n):
            net(x)
        wall.append((time.perf_counter() - t) / n)
        cpu.append((time.process_time() - c) / n)
print(
    f"torch {torch.__version__}, 1 thread, ms per network: wall best {min(wall) * 1e3:.2f} "
    f"median {sorted(wall)[5] * 1e3:.2f}; CPU time best {min(cpu) * 1e3:.2f} median {sorted(cpu)[5] * 1e3:.2f}"
)
