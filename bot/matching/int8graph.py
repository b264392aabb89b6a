"""The encoder's graph rewritten for speed, from the verified package graph (``prepare``
derives it once and keeps it in the cache folder; encoder.py pins its digest).

Three rewrites of the package's all-MiniLM-L6-v2 export:

- **Fusion.** Each attention block, exported as about 30 small nodes (reshapes,
  transposes, two products, a softmax and a NaN guard), becomes one onnxruntime
  ``MultiHeadAttention`` node, and each erf GELU (five nodes) one ``Gelu`` node.
  onnxruntime's own fusion tool (``onnxruntime.transformers.optimizer``) does not
  recognise this export's attention; onnxruntime already fuses the layer norms itself.
- **Integer products.** Each float32 product by a constant int8 weight
  (``MatMul(x, Cast(w) * scale)``, a scale a column) runs on the same int8 weights and
  scales (nothing is re-quantized). Each row of ``x`` (one token) is quantized to uint8 on
  its own range, ``x ≈ q * step + low``, so ``x @ (w * scale) = (q @ w) * scale * step +
  low * colsum(w) * scale``, with ``(q @ w) * scale`` one ``MatMulIntegerToFloat`` node.
  The weights go in as uint8 with a zero point of 128 (``w + 128``), not as int8: on a
  CPU with AVX2 but not AVX-VNNI, onnxruntime multiplies uint8 by int8 in pairs summed
  in 16 bits, which saturate (vectors fell to cosine 0.87-0.96 with float32's), while its
  uint8-by-uint8 products are exact on every CPU (0.999, as with VNNI).
  Per row, not per tensor as onnxruntime's dynamic quantization does (its vectors had
  cosine 0.974 with float32's, against 0.995 per row), so a message gets the same vector
  alone or in a batch. Products that share an input (query, key, value) run as one
  product on their weights side by side.
- **Embeddings** stay int8 and only the rows looked up are scaled: expanded before the
  look-up, the tables became float32 constants at load (about 130 MB of the process's
  memory after load, 296 MB against 166 MB).

Together: about half the nodes (381 against 709), which at one short message a
run is much of what the time goes on.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import onnx
from onnx import TensorProto, helper, numpy_helper

MS = "com.microsoft"  # onnxruntime's own operators


class _Graph:
    """A graph being rewritten: its constants, who writes and who reads each tensor, and
    the nodes replacing old ones."""

    def __init__(self, model: onnx.ModelProto) -> None:
        self.model = model
        self.graph = model.graph
        self.constants = {tensor.name: tensor for tensor in self.graph.initializer}
        self.producer = {out: node for node in self.graph.node for out in node.output}
        self.readers: dict[str, list[onnx.NodeProto]] = {}
        for node in self.graph.node:
            for name in node.input:
                self.readers.setdefault(name, []).append(node)
        self.added: list[onnx.NodeProto] = []

    def constant(self, name: str, value: npt.NDArray[Any]) -> str:
        self.graph.initializer.append(numpy_helper.from_array(value, name))
        return name

    def add(self, op: str, inputs: list[str], outputs: list[str], **attrs: Any) -> None:  # noqa: ANN401
        domain = MS if op in ("MultiHeadAttention", "Gelu", "MatMulIntegerToFloat") else ""
        node = helper.make_node(
            op, inputs, outputs, name=f"{outputs[0]}_op", domain=domain, **attrs
        )
        self.added.append(node)

    def only_reader(self, name: str, op: str) -> onnx.NodeProto | None:
        readers = self.readers.get(name, [])
        return readers[0] if len(readers) == 1 and readers[0].op_type == op else None

    def scalar(self, name: str) -> float | None:
        tensor = self.constants.get(name)
        return (
            float(numpy_helper.to_array(tensor)) if tensor is not None and not tensor.dims else None
        )

    def finish(self, replaced: list[onnx.NodeProto]) -> None:
        """The added nodes in, the replaced ones and all they alone fed out, in an order
        onnxruntime can run; constants nothing reads dropped."""
        gone = {id(node) for node in replaced}
        nodes = [node for node in self.graph.node if id(node) not in gone] + self.added
        outputs = {out.name for out in self.graph.output}
        while True:  # drop nodes whose outputs nothing reads
            read = outputs | {name for node in nodes for name in node.input}
            kept = [node for node in nodes if any(out in read for out in node.output)]
            if len(kept) == len(nodes):
                break
            nodes = kept
        ready = {i.name for i in self.graph.input} | {t.name for t in self.graph.initializer}
        ready.add("")  # an input left out
        ordered: list[onnx.NodeProto] = []
        while nodes:
            runnable = [node for node in nodes if all(name in ready for name in node.input)]
            if not runnable:
                raise ValueError("the rewritten graph has a cycle")
            ordered += runnable
            ready.update(out for node in runnable for out in node.output)
            nodes = [node for node in nodes if node not in runnable]
        self.graph.ClearField("node")
        self.graph.node.extend(ordered)
        read = {name for node in ordered for name in node.input}
        kept_constants = [t for t in self.graph.initializer if t.name in read]
        self.graph.ClearField("initializer")
        self.graph.initializer.extend(kept_constants)
        if not any(opset.domain == MS for opset in self.model.opset_import):
            self.model.opset_import.append(helper.make_opsetid(MS, 1))


def int8_graph(source: Path, heads: int = 12) -> bytes:
    """The package's graph (``source``, already verified) with attention and GELU fused
    and its products run on its int8 weights; the same vectors to within cosine 0.995."""
    model = onnx.load(str(source))
    _fuse_attention(_Graph(model), heads)
    _fuse_gelu(_Graph(model))
    _integer_products(_Graph(model))
    _int8_embeddings(_Graph(model))
    return bytes(model.SerializeToString())


def _fuse_attention(g: _Graph, heads: int) -> None:
    """``softmax(q k' / sqrt(d) + mask)``, NaN-guarded, times ``v``, heads split and
    merged by reshapes: one MultiHeadAttention on the projections, masked by the padding
    (``attention_mask``), the only mask a sentence encoder has."""
    replaced: list[onnx.NodeProto] = []
    mask = ""
    for softmax in [node for node in g.graph.node if node.op_type == "Softmax"]:
        guard = g.readers.get(softmax.output[0], [])
        where = next((node for node in guard if node.op_type == "Where"), None)
        weighted = where and g.only_reader(where.output[0], "MatMul")
        merged = weighted and g.only_reader(weighted.output[0], "Transpose")
        out = merged and g.only_reader(merged.output[0], "Reshape")
        masked = g.producer.get(softmax.input[0])
        scores = masked and g.producer.get(masked.input[0])
        if not (out and weighted and masked and scores and scores.op_type == "MatMul"):
            continue
        (q, q_scale), (k, k_scale) = (
            _projection(g, scores.input[0]),
            _projection(g, scores.input[1]),
        )
        v, v_scale = _projection(g, weighted.input[1])
        hidden = _width(g, q)
        if (
            hidden is None
            or not math.isclose(q_scale * k_scale * math.sqrt(hidden / heads), 1, rel_tol=1e-4)
            or v_scale != 1
        ):
            continue
        if not mask:
            mask = "int8_key_padding_mask"
            g.add("Cast", ["attention_mask"], [mask], to=TensorProto.INT32)
        g.add("MultiHeadAttention", [q, k, v, "", mask], [out.output[0]], num_heads=heads)
        replaced.append(out)
    g.finish(replaced)


def _projection(g: _Graph, name: str) -> tuple[str, float]:
    """Up through reshapes, transposes and scalings by a constant to the projection's
    output, with the product of the scalings."""
    scale = 1.0
    while (node := g.producer.get(name)) is not None and node.op_type in (
        "Reshape",
        "Transpose",
        "Mul",
    ):
        if node.op_type == "Mul":
            factor = g.scalar(node.input[1])
            if factor is None:
                break
            scale *= factor
        name = node.input[0]
    return name, scale


def _width(g: _Graph, name: str) -> int | None:
    """The last dimension of ``name``, the output of ``MatMul(x, w) + bias``."""
    add = g.producer.get(name)
    bias = g.constants.get(add.input[1]) if add is not None and add.op_type == "Add" else None
    return int(bias.dims[0]) if bias is not None and len(bias.dims) == 1 else None


def _fuse_gelu(g: _Graph) -> None:
    """``x * 0.5 * (1 + erf(x / sqrt(2)))``, exported as five nodes: one Gelu."""
    replaced: list[onnx.NodeProto] = []
    for erf in [node for node in g.graph.node if node.op_type == "Erf"]:
        divide = g.producer.get(erf.input[0])
        plus_one = g.only_reader(erf.output[0], "Add")
        half = plus_one and g.only_reader(plus_one.output[0], "Mul")
        out = half and g.only_reader(half.output[0], "Mul")
        if not (divide and divide.op_type == "Div" and out and divide.input[0] in out.input):
            continue
        if not math.isclose(g.scalar(divide.input[1]) or 0, math.sqrt(2), rel_tol=1e-4):
            continue
        g.add("Gelu", [divide.input[0]], [out.output[0]])
        replaced.append(out)
    g.finish(replaced)


def _int8_weight(
    g: _Graph, node: onnx.NodeProto
) -> tuple[npt.NDArray[np.int8], npt.NDArray[np.float32]] | None:
    """The int8 weight and the scales a column of ``MatMul(x, Cast(w) * scale)``."""
    if node.op_type != "MatMul" or len(g.readers[node.input[1]]) != 1:
        return None
    scaled = g.producer.get(node.input[1])
    cast = g.producer.get(scaled.input[0]) if scaled and scaled.op_type == "Mul" else None
    weight = g.constants.get(cast.input[0]) if cast and cast.op_type == "Cast" else None
    if scaled is None or weight is None or weight.data_type != TensorProto.INT8:
        return None
    scale = g.constants.get(scaled.input[1])
    if scale is None:
        return None
    return numpy_helper.to_array(weight), numpy_helper.to_array(scale).reshape(-1).astype(
        np.float32
    )


def _integer_products(g: _Graph) -> None:
    """Each input of products by int8 weights quantized a row at a time, and its products
    run as one integer product (see the module's docstring)."""
    products: dict[str, list[onnx.NodeProto]] = {}
    for node in g.graph.node:
        if _int8_weight(g, node) is not None:
            products.setdefault(node.input[0], []).append(node)
    step_of_range = g.constant("int8_step_of_range", np.array(1 / 255, dtype=np.float32))
    least_step = g.constant("int8_least_step", np.array(1e-8, dtype=np.float32))
    one = g.constant("int8_one", np.array(1, dtype=np.float32))
    zero = g.constant("int8_zero", np.array(0, dtype=np.uint8))
    middle = g.constant("int8_middle", np.array(128, dtype=np.uint8))
    replaced: list[onnx.NodeProto] = []
    for n, (x, nodes) in enumerate(products.items()):
        a = f"int8_{n}_"
        g.add("ReduceMax", [x], [a + "high"], axes=[-1], keepdims=1)
        g.add("ReduceMin", [x], [a + "low"], axes=[-1], keepdims=1)
        g.add("Sub", [a + "high", a + "low"], [a + "range"])
        g.add("Mul", [a + "range", step_of_range], [a + "step0"])
        g.add("Max", [a + "step0", least_step], [a + "step"])  # a constant row: no 0/0
        g.add("Sub", [x, a + "low"], [a + "shifted"])
        g.add("Div", [a + "shifted", a + "step"], [a + "steps"])
        g.add("QuantizeLinear", [a + "steps", one], [a + "q"])  # rounds and saturates, uint8
        weights = [w for w in (_int8_weight(g, node) for node in nodes) if w is not None]
        w = np.concatenate([weight for weight, _ in weights], axis=1)
        scale = np.concatenate([s for _, s in weights])
        colsum = (w.astype(np.int64).sum(axis=0) * scale).astype(np.float32)
        g.add(
            "MatMulIntegerToFloat",
            [
                a + "q",
                g.constant(a + "w", (w.astype(np.int16) + 128).astype(np.uint8)),
                one,
                g.constant(a + "scale", scale),
                zero,
                middle,
            ],
            [a + "scaled"],
        )
        g.add("Mul", [a + "scaled", a + "step"], [a + "stepped"])
        g.add("Mul", [a + "low", g.constant(a + "colsum", colsum)], [a + "offset"])
        outputs = [node.output[0] for node in nodes]
        if len(nodes) == 1:
            g.add("Add", [a + "stepped", a + "offset"], outputs)
        else:
            g.add("Add", [a + "stepped", a + "offset"], [a + "y"])
            widths = g.constant(a + "widths", np.array([weight.shape[1] for weight, _ in weights]))
            g.add("Split", [a + "y", widths], outputs, axis=-1)
        replaced += nodes
    g.finish(replaced)


def _int8_embeddings(g: _Graph) -> None:
    """Embedding tables kept int8, their rows looked up and then scaled: a table expanded
    to float32 before the look-up is a constant onnxruntime folds at load, 47 MB more
    memory for the word table."""
    replaced: list[onnx.NodeProto] = []
    for gather in [node for node in g.graph.node if node.op_type == "Gather"]:
        scaled = g.producer.get(gather.input[0])
        cast = g.producer.get(scaled.input[0]) if scaled and scaled.op_type == "Mul" else None
        table = g.constants.get(cast.input[0]) if cast and cast.op_type == "Cast" else None
        scale = g.constants.get(scaled.input[1]) if scaled else None
        if table is None or table.data_type != TensorProto.INT8 or scale is None:
            continue
        if list(scale.dims) != [table.dims[0], 1] or int(
            gather.attribute[0].i if gather.attribute else 0
        ):
            continue
        ids, out = gather.input[1], gather.output[0]
        g.add("Gather", [table.name, ids], [f"{out}_int8"])
        g.add("Cast", [f"{out}_int8"], [f"{out}_float"], to=TensorProto.FLOAT)
        g.add("Gather", [scale.name, ids], [f"{out}_scale"])
        g.add("Mul", [f"{out}_float", f"{out}_scale"], [out])
        replaced.append(gather)
    g.finish(replaced)
