"""PyTorch peer of `trainer/examples/fit_throughput.rs`: training throughput of the reference CNN
(DESIGN.md "Model", the same architecture as trainer/src/model.rs) for BOTH networks, one step =
forward of the composer network (7 classes, cross-entropy) and of the instrument network
(10 labels, binary cross-entropy), one backward each, one Adam step each (betas 0.5, 0.999),
losses read back. Random inputs of the real shape (batch x 4 x 128 x 312), like the Rust bench.

usage: python bench/torch_train_throughput.py [reference|compact] [batch] [steps] [threads] [cpu|cuda]
Prints seconds per step and windows per second (a 4-window stack counts 4 windows, as in Rust).
"""
import sys
import time

import torch
from torch import nn

config = sys.argv[1] if len(sys.argv) > 1 else "reference"
batch = int(sys.argv[2]) if len(sys.argv) > 2 else 16
steps = int(sys.argv[3]) if len(sys.argv) > 3 else 6
threads = int(sys.argv[4]) if len(sys.argv) > 4 else 2
device = sys.argv[5] if len(sys.argv) > 5 else "cpu"
torch.set_num_threads(threads)
torch.manual_seed(0)

# (out channels, kernel, stride, pool) per block; padding kernel // 2 everywhere.
LAYERS = {
    "reference": (4, [(16, (3, 7), (1, 2), False), (16, (3, 5), (2, 2), False),
                      (32, (3, 3), (1, 1), True), (64, (3, 3), (1, 1), True),
                      (128, (3, 3), (1, 1), True)]),
    "compact": (1, [(12, (3, 7), (2, 4), False), (16, (3, 5), (2, 2), False),
                    (32, (3, 3), (1, 1), True), (64, (3, 3), (1, 1), True),
                    (64, (3, 3), (1, 1), True)]),
}


def network(classes):
    stack, layers = LAYERS[config]
    modules, c = [], stack
    for out, k, s, pool in layers:
        modules += [nn.Conv2d(c, out, k, s, (k[0] // 2, k[1] // 2)), nn.BatchNorm2d(out), nn.ReLU()]
        if pool:
            modules.append(nn.MaxPool2d(2))
        c = out
    body = nn.Sequential(*modules)
    with torch.no_grad():
        flat = body(torch.zeros(1, stack, 128, 312)).numel()
    return nn.Sequential(body, nn.Flatten(), nn.Linear(flat, classes)).to(device)


stack = LAYERS[config][0]
composer, instruments = network(7), network(10)
opt_c = torch.optim.Adam(composer.parameters(), lr=1e-3, betas=(0.5, 0.999))
opt_i = torch.optim.Adam(instruments.parameters(), lr=1e-4, betas=(0.5, 0.999))
x = torch.randint(-128, 128, (batch, stack, 128, 312), dtype=torch.int8)
y_c = torch.randint(0, 7, (batch,))
y_i = torch.randint(0, 2, (batch, 10)).float()


def step():
    inp = (x.float() / 128.0).to(device)
    losses = []
    for net, opt, loss_fn, y in ((composer, opt_c, nn.functional.cross_entropy, y_c.to(device)),
                                 (instruments, opt_i, nn.functional.binary_cross_entropy_with_logits,
                                  y_i.to(device))):
        opt.zero_grad()
        loss = loss_fn(net(inp), y)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return losses


step()  # warm-up
start = time.perf_counter()
for _ in range(steps):
    step()
elapsed = (time.perf_counter() - start) / steps
print(f"torch {torch.__version__} {config} batch {batch} threads {threads} {device}: "
      f"{elapsed:.3f} s/step, {batch * stack / elapsed:.1f} windows/s")
