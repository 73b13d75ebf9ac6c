"""The trainer's CNN in PyTorch: the twin of trainer/src/model.rs, for training with PyTorch and
importing the result with `trainer import`.

A network is `len(layers)` blocks `conv -> BatchNorm -> ReLU -> (2x2 max pool)` over the input
`stack x bins x frames` (feature codes / 128), each convolution padded by `kernel // 2`, then the
map flattened channel-major (`[c][bin][frame]`, PyTorch's `flatten` of NCHW) into one linear
layer of logits. `Classifier(config, classes)` names its parameters exactly like the Burn model
(`blocks.N.conv`, `blocks.N.norm`, `head`); `sequential(config, classes)` builds the same network
as a plain `nn.Sequential`. `trainer import` reads either state_dict (it maps the tensors by their
structure, see trainer/src/import.rs).

`config` is the "config" object of a model folder's model.json, e.g.
    {"stack": 4, "bins": 128, "frames": 312, "layers": [{"out_channels": 16, "kernel": [3, 7],
     "stride": [1, 2], "pool": false}, ...], "batch_norm_epsilon": 1e-5, "batch_norm_momentum": 0.1}
`reference_config()` is the trainer's reference preset (`ModelConfig::reference`).

Train a composer network with cross-entropy on its logits and an instrument network with
`binary_cross_entropy_with_logits`, then `torch.save(net.state_dict(), "composer.pt")`.
"""
import torch
from torch import nn


def reference_config():
    """The reference preset: 4 stacked windows, five blocks, linear 9216 -> classes."""
    def layer(out_channels, kernel, stride, pool):
        return {"out_channels": out_channels, "kernel": kernel, "stride": stride, "pool": pool}

    return {
        "stack": 4, "bins": 128, "frames": 312,
        "layers": [layer(16, [3, 7], [1, 2], False), layer(16, [3, 5], [2, 2], False),
                   layer(32, [3, 3], [1, 1], True), layer(64, [3, 3], [1, 1], True),
                   layer(128, [3, 3], [1, 1], True)],
        "batch_norm_epsilon": 1e-5, "batch_norm_momentum": 0.1,
    }


def _conv_len(n, kernel, stride):
    return (n + 2 * (kernel // 2) - kernel) // stride + 1


def flatten_size(config):
    """Inputs of the linear layer: channels x bins x frames after the last block."""
    c, h, w = config["stack"], config["bins"], config["frames"]
    for layer in config["layers"]:
        c = layer["out_channels"]
        h = _conv_len(h, layer["kernel"][0], layer["stride"][0])
        w = _conv_len(w, layer["kernel"][1], layer["stride"][1])
        if layer["pool"]:
            h, w = h // 2, w // 2
    return c * h * w


def _modules(config):
    """(conv, norm, pool or None) of every block."""
    blocks, channels = [], config["stack"]
    for layer in config["layers"]:
        k, s = layer["kernel"], layer["stride"]
        conv = nn.Conv2d(channels, layer["out_channels"], tuple(k), tuple(s),
                         (k[0] // 2, k[1] // 2))
        norm = nn.BatchNorm2d(layer["out_channels"], eps=config["batch_norm_epsilon"],
                              momentum=config["batch_norm_momentum"])
        blocks.append((conv, norm, nn.MaxPool2d(2) if layer["pool"] else None))
        channels = layer["out_channels"]
    return blocks


class Block(nn.Module):
    """conv -> BatchNorm -> ReLU -> optional 2x2 max pool."""

    def __init__(self, conv, norm, pool):
        super().__init__()
        self.conv, self.norm, self.pool = conv, norm, pool

    def forward(self, x):
        x = torch.relu(self.norm(self.conv(x)))
        return self.pool(x) if self.pool is not None else x


class Classifier(nn.Module):
    """The network with the Burn model's parameter names."""

    def __init__(self, config, classes):
        super().__init__()
        self.blocks = nn.ModuleList(Block(*parts) for parts in _modules(config))
        self.head = nn.Linear(flatten_size(config), classes)

    def forward(self, x):
        for block in self.blocks:
            x = block(x)
        return self.head(torch.flatten(x, 1))


def sequential(config, classes):
    """The same network as one nn.Sequential (state_dict keys "0.weight", "1.running_mean", ...)."""
    modules = []
    for conv, norm, pool in _modules(config):
        modules += [conv, norm, nn.ReLU()] + ([pool] if pool is not None else [])
    return nn.Sequential(*modules, nn.Flatten(), nn.Linear(flatten_size(config), classes))
