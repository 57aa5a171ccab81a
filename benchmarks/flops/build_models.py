#!/usr/bin/python3
"""Build the FLOP-rate benchmark models, reproducibly (run with /usr/bin/python3).

Writes into benchmarks/flops/models/ (git-ignored):

  resnet50.onnx        ResNet-50 v1 (He et al. 2015, the original "v1": the stride-2 of a
                       down-sampling bottleneck sits on its FIRST 1x1 conv, and on the 1x1
                       projection shortcut; torchvision's "v1.5" puts it on the 3x3 instead).
                       conv1 7x7/2 -> BN -> ReLU -> maxpool 3x3/2 (pad 1) -> bottleneck stages
                       [3, 4, 6, 3] (widths 64/128/256/512, expansion 4) -> global average pool
                       -> flatten -> FC 1000 (Gemm). Input 1x3x224x224 float32.
                       BatchNorm is FOLDED into each conv as conv+bias (inference form; what
                       onnxruntime's optimizer would do anyway), so every conv has a bias and
                       there are no BatchNormalization nodes.
  tiny.onnx            The same generator with stages [1, 1, 1, 1] at 1x3x64x64, for smoke tests.
  gemm_<N>.onnx        Y = A @ B, A an input [N, N], B a float32 initializer [N, N], for
                       N in GEMM_SIZES; used to measure this machine's GEMM peak in onnxruntime.
  flops.json           Exact FLOP counts per model, derived from the graphs written.

FLOP convention (the headline "flops" field): 2 * MACs of Conv, MatMul and Gemm only
(one multiply-add = 2 FLOPs). Bias adds, ReLU, residual Add, pooling are counted
separately in "other_flops" (1 FLOP per output element for bias/ReLU/Add, one per
window element for pooling) and are NOT in the headline number, matching the usual
"ResNet-50 = ~4 GMACs" convention.

Weights are seeded (numpy RandomState) He-normal, with the last conv of each residual
branch scaled down so activations neither explode nor become denormal; the weight values do
not affect speed. Same bytes on every run (checked by sha256 in flops.json).
"""
import hashlib
import json
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 13
IR_VERSION = 7
SEED = 20240501
GEMM_SIZES = [512, 1024, 2048]
HERE = os.path.dirname(os.path.abspath(__file__))


class Builder:
    def __init__(self, seed):
        self.rng = np.random.RandomState(seed)
        self.nodes = []
        self.inits = []
        self.n = 0
        self.macs = 0
        self.other = 0
        self.by_op = {}

    def name(self, prefix):
        self.n += 1
        return f"{prefix}_{self.n}"

    def _count(self, op, macs=0, other=0):
        self.macs += macs
        self.other += other
        entry = self.by_op.setdefault(op, {"nodes": 0, "flops": 0, "other_flops": 0})
        entry["nodes"] += 1
        entry["flops"] += 2 * macs
        entry["other_flops"] += other

    def conv(self, x, shape, cout, k, stride, pad, relu, gain=1.0):
        c, h, w = shape
        fan_in = c * k * k
        wt = (self.rng.standard_normal((cout, c, k, k)) * np.sqrt(2.0 / fan_in) * gain).astype(np.float32)
        b = (self.rng.standard_normal(cout) * 0.01).astype(np.float32)  # folded BN shift
        wn, bn, y = self.name("W"), self.name("B"), self.name("conv")
        self.inits += [numpy_helper.from_array(wt, wn), numpy_helper.from_array(b, bn)]
        self.nodes.append(helper.make_node("Conv", [x, wn, bn], [y], kernel_shape=[k, k],
                                           strides=[stride, stride], pads=[pad] * 4, name=y))
        ho = (h + 2 * pad - k) // stride + 1
        wo = (w + 2 * pad - k) // stride + 1
        out = cout * ho * wo
        self._count("Conv", macs=out * c * k * k, other=out)  # other: the bias add
        if relu:
            y = self.relu(y, out)
        return y, (cout, ho, wo)

    def relu(self, x, size):
        y = self.name("relu")
        self.nodes.append(helper.make_node("Relu", [x], [y], name=y))
        self._count("Relu", other=size)
        return y

    def add(self, a, b, size):
        y = self.name("add")
        self.nodes.append(helper.make_node("Add", [a, b], [y], name=y))
        self._count("Add", other=size)
        return y


def resnet(stages, hw, seed):
    g = Builder(seed)
    x, shape = g.conv("input", (3, hw, hw), 64, 7, 2, 3, relu=True)
    # maxpool 3x3/2 pad 1
    c, h, w = shape
    ho, wo = (h + 2 - 3) // 2 + 1, (w + 2 - 3) // 2 + 1
    y = g.name("maxpool")
    g.nodes.append(helper.make_node("MaxPool", [x], [y], kernel_shape=[3, 3], strides=[2, 2],
                                    pads=[1, 1, 1, 1], name=y))
    g._count("MaxPool", other=c * ho * wo * 9)
    x, shape = y, (c, ho, wo)
    for si, (blocks, width) in enumerate(zip(stages, [64, 128, 256, 512])):
        for bi in range(blocks):
            stride = 2 if (si > 0 and bi == 0) else 1
            cout = width * 4
            if bi == 0:
                short, _ = g.conv(x, shape, cout, 1, stride, 0, relu=False)
            else:
                short = x
            t, s1 = g.conv(x, shape, width, 1, stride, 0, relu=True)  # v1: stride on the 1x1
            t, s2 = g.conv(t, s1, width, 3, 1, 1, relu=True)
            t, s3 = g.conv(t, s2, cout, 1, 1, 0, relu=False, gain=0.2)
            size = s3[0] * s3[1] * s3[2]
            x = g.relu(g.add(t, short, size), size)
            shape = s3
    c, h, w = shape
    y = g.name("gap")
    g.nodes.append(helper.make_node("GlobalAveragePool", [x], [y], name=y))
    g._count("GlobalAveragePool", other=c * h * w)
    f = g.name("flatten")
    g.nodes.append(helper.make_node("Flatten", [y], [f], axis=1, name=f))
    wt = (g.rng.standard_normal((1000, c)) * np.sqrt(1.0 / c)).astype(np.float32)
    b = np.zeros(1000, np.float32)
    g.inits += [numpy_helper.from_array(wt, "fc_W"), numpy_helper.from_array(b, "fc_B")]
    g.nodes.append(helper.make_node("Gemm", [f, "fc_W", "fc_B"], ["logits"], transB=1, name="fc"))
    g._count("Gemm", macs=c * 1000, other=1000)
    graph = helper.make_graph(
        g.nodes, "resnet50_v1" if list(stages) == [3, 4, 6, 3] else "resnet_tiny",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 3, hw, hw])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, 1000])], g.inits)
    meta = {
        "input": {"name": "input", "shape": [1, 3, hw, hw]},
        "output": "logits",
        "stages": list(stages),
        "flops": 2 * g.macs,
        "macs": g.macs,
        "other_flops": g.other,
        "by_op": g.by_op,
        "params": int(sum(int(np.prod(t.dims)) for t in g.inits)),
    }
    return graph, meta


def gemm(n, seed):
    rng = np.random.RandomState(seed + n)
    b = (rng.standard_normal((n, n)) / np.sqrt(n)).astype(np.float32)
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["A", "Bw"], ["Y"], name="matmul")], f"gemm_{n}",
        [helper.make_tensor_value_info("A", TensorProto.FLOAT, [n, n])],
        [helper.make_tensor_value_info("Y", TensorProto.FLOAT, [n, n])],
        [numpy_helper.from_array(b, "Bw")])
    meta = {"input": {"name": "A", "shape": [n, n]}, "output": "Y", "flops": 2 * n ** 3,
            "macs": n ** 3, "other_flops": 0, "n": n}
    return graph, meta


def save(graph, path):
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                              producer_name="lantern-benchmarks-flops", producer_version="1")
    model.ir_version = IR_VERSION
    onnx.checker.check_model(model)
    data = model.SerializeToString(deterministic=True)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, path)
    return hashlib.sha256(data).hexdigest(), len(data)


def main(argv):
    out_dir = argv[1] if len(argv) > 1 else os.path.join(HERE, "models")
    os.makedirs(out_dir, exist_ok=True)
    models = {}
    specs = [("resnet50", lambda: resnet([3, 4, 6, 3], 224, SEED)),
             ("tiny", lambda: resnet([1, 1, 1, 1], 64, SEED))]
    specs += [(f"gemm_{n}", (lambda n=n: gemm(n, SEED))) for n in GEMM_SIZES]
    for key, make in specs:
        graph, meta = make()
        file = f"{key}.onnx"
        sha, size = save(graph, os.path.join(out_dir, file))
        models[key] = {"file": file, "sha256": sha, "bytes": size, **meta}
        print(f"{file}: {meta['flops'] / 1e9:.3f} GFLOP (2*MACs), {size} bytes", file=sys.stderr)
    summary = {
        "generator": "benchmarks/flops/build_models.py",
        "seed": SEED,
        "opset": OPSET,
        "onnx_version": onnx.__version__,
        "numpy_version": np.__version__,
        "flop_convention": "flops = 2 * MACs of Conv, MatMul, Gemm; other_flops = bias adds, ReLU, "
                           "residual Add (1/output element), pooling (1/window element), not in flops",
        "batchnorm": "folded into conv weights and bias (Conv with bias, no BatchNormalization nodes)",
        "resnet_variant": "ResNet-50 v1: stride 2 on the first 1x1 conv of a down-sampling bottleneck",
        "models": models,
    }
    with open(os.path.join(out_dir, "flops.json.tmp"), "w") as f:
        json.dump(summary, f, indent=2, sort_keys=True)
        f.write("\n")
    os.replace(os.path.join(out_dir, "flops.json.tmp"), os.path.join(out_dir, "flops.json"))


if __name__ == "__main__":
    main(sys.argv)
