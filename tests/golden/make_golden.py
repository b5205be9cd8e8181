#!/usr/bin/env python3
"""Writes golden.json: small inputs, PyTorch outputs and PyTorch gradients for ops whose
conventions matter (padding, dilation, groups, pooling divisors, label smoothing, GELU, batch
norm statistics). Run with Debian's PyTorch: /usr/bin/python3 tests/golden/make_golden.py
The tests only read the JSON; they never run this script."""
import json
import os

import torch
import torch.nn.functional as F

torch.manual_seed(0)
cases = []


def record(name, fn, inputs, differentiable, extra=None):
    tensors = [t.clone().double().requires_grad_(d) for t, d in zip(inputs, differentiable)]
    out = fn(*tensors)
    weights = torch.linspace(-1.0, 1.0, out.numel(), dtype=torch.float64).reshape(out.shape)
    (out * weights).sum().backward()
    cases.append({
        "name": name,
        "inputs": [{"shape": list(t.shape), "data": t.detach().flatten().tolist()} for t in tensors],
        "output": {"shape": list(out.shape), "data": out.detach().flatten().tolist()},
        "grads": [t.grad.flatten().tolist() if d else None for t, d in zip(tensors, differentiable)],
        "extra": extra or {},
    })


x = torch.randn(2, 4, 7, 6)
w = torch.randn(6, 2, 3, 3)
b = torch.randn(6)
record("conv2d_stride2_pad1_dil2_groups2",
       lambda x, w, b: F.conv2d(x, w, b, stride=2, padding=1, dilation=2, groups=2), [x, w, b], [True, True, True])
record("conv2d_1x1", lambda x, w: F.conv2d(x, w), [x, torch.randn(3, 4, 1, 1)], [True, True])
record("max_pool2d_k3_s2_p1", lambda x: F.max_pool2d(x, 3, 2, 1), [x], [True])
record("avg_pool2d_k3_s2_p1", lambda x: F.avg_pool2d(x, 3, 2, 1), [x], [True])
record("avg_pool2d_k3_s2_p1_exclude_pad", lambda x: F.avg_pool2d(x, 3, 2, 1, count_include_pad=False), [x], [True])
logits = torch.randn(5, 7) * 3
record("log_softmax_dim0", lambda z: F.log_softmax(z, 0), [logits], [True])
record("softmax_dim1", lambda z: F.softmax(z, 1), [logits], [True])
labels = torch.tensor([3, 0, 6, 6, 1])
record("cross_entropy_smoothing",
       lambda z, y: F.cross_entropy(z, y.long(), label_smoothing=0.2), [logits, labels.double()], [True, False])
record("gelu", lambda z: F.gelu(z), [torch.randn(3, 5) * 2], [True])
record("softplus", lambda z: F.softplus(z), [torch.randn(3, 5) * 4], [True])
record("bce_with_logits", lambda z, t: F.binary_cross_entropy_with_logits(z, t),
       [torch.randn(4, 3) * 3, torch.rand(4, 3)], [True, False])
bn_x = torch.randn(6, 3, 2, 2) * 2 + 1
record("batch_norm_train",
       lambda x, g, c: F.batch_norm(x, None, None, g, c, training=True, eps=1e-5),
       [bn_x, torch.randn(3), torch.randn(3)], [True, True, True])
running_mean, running_var = torch.zeros(3, dtype=torch.float64), torch.ones(3, dtype=torch.float64)
F.batch_norm(bn_x.double(), running_mean, running_var, training=True, momentum=0.1)
cases[-1]["extra"] = {"running_mean": running_mean.tolist(), "running_var": running_var.tolist()}
record("matmul_broadcast_batch", lambda a, c: a @ c, [torch.randn(2, 1, 3, 4), torch.randn(3, 4, 5)], [True, True])
record("logsumexp_dims", lambda z: torch.logsumexp(z, dim=(0, 2)), [torch.randn(3, 4, 5)], [True])
record("var_unbiased", lambda z: torch.var(z, dim=1, keepdim=True), [torch.randn(4, 6)], [True])

path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "golden.json")
with open(path, "w") as f:
    json.dump({"torch": torch.__version__, "cases": cases}, f, separators=(",", ":"))
print(f"wrote {len(cases)} cases to {path}")
