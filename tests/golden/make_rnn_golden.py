# Makes rnn_golden.json: a small nn.LSTM and nn.GRU (batch_first, input 3, hidden 4, seq 5, batch 2,
# seed 0) with their inputs, initial states, weights in PyTorch's layout, outputs and final states.
# Run with /usr/bin/python3 (Debian's python3-torch); the tests read the JSON, never this script.
import json

import torch

torch.manual_seed(0)
batch, time, inputs, hidden = 2, 5, 3, 4


def values(t):
    # Nine significant digits give back every float32 exactly.
    return [float(f"{float(v):.9g}") for v in t.detach().reshape(-1)]


def case(name, module, with_c):
    x = torch.randn(batch, time, inputs)
    h0 = torch.randn(1, batch, hidden)
    c0 = torch.randn(1, batch, hidden)
    with torch.no_grad():
        if with_c:
            y, (h, c) = module(x, (h0, c0))
        else:
            y, h = module(x, h0)
    result = {
        "name": name,
        "x": values(x), "h0": values(h0),
        "weight_ih": values(module.weight_ih_l0), "weight_hh": values(module.weight_hh_l0),
        "bias_ih": values(module.bias_ih_l0), "bias_hh": values(module.bias_hh_l0),
        "output": values(y), "h": values(h),
    }
    if with_c:
        result["c0"] = values(c0)
        result["c"] = values(c)
    return result


cases = [
    case("lstm", torch.nn.LSTM(inputs, hidden, batch_first=True), True),
    case("gru", torch.nn.GRU(inputs, hidden, batch_first=True), False),
]
with open("rnn_golden.json", "w") as f:
    json.dump({"torch": torch.__version__, "batch": batch, "time": time, "inputs": inputs, "hidden": hidden, "cases": cases}, f)
