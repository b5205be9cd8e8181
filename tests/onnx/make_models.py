"""Generates the PyTorch-exported ONNX files the import tests read, with PyTorch's outputs.

Run from the repository root with Debian's PyTorch (python3-torch):

    /usr/bin/python3 tests/onnx/make_models.py

Writes tests/onnx/<name>.onnx and tests/onnx/<name>.json ({"input_shape", "input", "output"}) for:
  mlp        Linear/ReLU/Tanh/Sigmoid layers on 12 features
  recurrent  batch-first LSTM -> GRU -> RNN (ReLU), the RNN's last step and the GRU's final state joined
             and fed to a linear layer
  resnet     a small ResNet-style network: conv-BN-ReLU-maxpool(3, 2, padding 1) stem, an identity
             residual block, a 3x3 average pool with counted padding (PyTorch's default), and a
             downsampling block (stride-2 3x3 conv with PyTorch's symmetric padding, 1x1 conv
             shortcut), global average pooling, x.view(x.size(0), -1) and a linear head
  mnist_cnn  the seed's MNIST CNN (Conv32-3x3, ReLU, MaxPool2, Dense128, ReLU, Dense10), trained for
             a few batches of ../shared/datasets/mnist when present (random init otherwise)
The tests never run this script; its outputs are committed so CI needs no PyTorch.
"""
import gzip
import json
import os
import struct

import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
MNIST = os.path.join(HERE, "..", "..", "..", "shared", "datasets", "mnist")
OPSET = 17


class Mlp(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(12, 24)
        self.fc2 = nn.Linear(24, 16)
        self.fc3 = nn.Linear(16, 4)

    def forward(self, x):
        return torch.sigmoid(self.fc3(torch.tanh(self.fc2(F.relu(self.fc1(x))))))


class Recurrent(nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(3, 6, batch_first=True)
        self.gru = nn.GRU(6, 5, batch_first=True)
        self.rnn = nn.RNN(5, 4, nonlinearity="relu", batch_first=True)
        self.fc = nn.Linear(4 + 5, 2)

    def forward(self, x):
        y, _ = self.lstm(x)
        y, h = self.gru(y)
        z, _ = self.rnn(y)
        return self.fc(torch.cat([z[:, -1], h[-1]], 1))


class Block(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.shortcut = None
        if stride != 1 or cin != cout:
            self.shortcut = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        h = F.relu(self.bn1(self.conv1(x)))
        h = self.bn2(self.conv2(h))
        return F.relu(h + (x if self.shortcut is None else self.shortcut(x)))


class ResNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 8, 3, 1, 1, bias=False), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(3, 2, 1))
        self.block1 = Block(8, 8, 1)
        self.smooth = nn.AvgPool2d(3, 1, 1)
        self.block2 = Block(8, 16, 2)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(16, 5)

    def forward(self, x):
        x = self.pool(self.block2(self.smooth(self.block1(self.stem(x)))))
        return self.fc(x.view(x.size(0), -1))


class MnistCnn(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 32, 3)
        self.fc1 = nn.Linear(32 * 13 * 13, 128)
        self.fc2 = nn.Linear(128, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv(x)), 2)
        return self.fc2(F.relu(self.fc1(torch.flatten(x, 1))))


def mnist_batches(count, batch):
    """The first count*batch training images scaled to [0, 1] and their labels, or None without the files."""
    images_path = os.path.join(MNIST, "train-images-idx3-ubyte.gz")
    labels_path = os.path.join(MNIST, "train-labels-idx1-ubyte.gz")
    if not (os.path.exists(images_path) and os.path.exists(labels_path)):
        return None
    n = count * batch
    with gzip.open(images_path) as f:
        magic, total, rows, cols = struct.unpack(">IIII", f.read(16))
        assert magic == 2051 and rows == 28 and cols == 28
        pixels = torch.frombuffer(bytearray(f.read(n * 28 * 28)), dtype=torch.uint8)
    with gzip.open(labels_path) as f:
        magic, total = struct.unpack(">II", f.read(8))
        assert magic == 2049
        labels = torch.frombuffer(bytearray(f.read(n)), dtype=torch.uint8).long()
    images = pixels.float().div(255).view(n, 1, 28, 28)
    return [(images[i * batch:(i + 1) * batch], labels[i * batch:(i + 1) * batch]) for i in range(count)]


def randomize_batch_norms(model, generator):
    """Non-trivial running statistics and affine parameters, so the inference form is really tested."""
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.uniform_(-0.5, 0.5, generator=generator)
                m.running_var.uniform_(0.5, 1.5, generator=generator)
                m.weight.uniform_(0.5, 1.5, generator=generator)
                m.bias.uniform_(-0.5, 0.5, generator=generator)


def export(name, model, example):
    model.eval()
    path = os.path.join(HERE, name + ".onnx")
    # PRESERVE keeps batch norm as BatchNormalization nodes (inference form) instead of folding it into the convolutions.
    torch.onnx.export(model, example, path, opset_version=OPSET, input_names=["input"], output_names=["output"],
                      training=torch.onnx.TrainingMode.PRESERVE,
                      dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}})
    with torch.no_grad():
        output = model(example)
    with open(os.path.join(HERE, name + ".json"), "w") as f:
        json.dump({"input_shape": list(example.shape), "input": [round(v, 7) for v in example.flatten().tolist()],
                   "output": output.flatten().tolist()}, f)
    print(f"{name}: {os.path.getsize(path)} bytes, output {list(output.shape)}")


def main():
    torch.manual_seed(0)
    generator = torch.Generator().manual_seed(1)

    export("mlp", Mlp(), torch.randn(3, 12, generator=generator))

    resnet = ResNet()
    randomize_batch_norms(resnet, generator)
    export("resnet", resnet, torch.randn(2, 3, 16, 16, generator=generator))

    cnn = MnistCnn()
    batches = mnist_batches(20, 64)
    if batches is not None:
        optimizer = torch.optim.Adam(cnn.parameters(), 1e-3)
        for images, labels in batches:
            optimizer.zero_grad()
            F.cross_entropy(cnn(images), labels).backward()
            optimizer.step()
        example = batches[-1][0][:2]
    else:
        example = torch.rand(2, 1, 28, 28, generator=generator)
    export("mnist_cnn", cnn, example)

    export("recurrent", Recurrent(), torch.randn(2, 7, 3, generator=generator))


if __name__ == "__main__":
    main()
