"""Edits of ONNX graphs made at load time, before onnxruntime optimizes them."""

from __future__ import annotations

import onnx


def with_float_softmax(model: onnx.ModelProto) -> onnx.ModelProto:
    """The model with each attention softmax fed its float logits instead of an int8 copy.

    The file is quantized in QDQ form: every attention softmax reads logits that were just
    quantized and dequantized again, so onnxruntime fuses the three into `QLinearSoftmax`,
    whose CPU kernel took a quarter of a decision here (4 ms per layer, 17 of 62 ms). With
    the softmax reading the logits directly it runs in float (2 ms for all four), the int8
    matrix products around it stay int8, and the logits' round trip, now unused, is removed.
    The verdicts barely move: the quantized logits were only an approximation of these
    (docs/performance.md, "End of turn", compares the probabilities on the whole turn set).
    Edits `model` in place and returns it; a graph without the pattern is returned unchanged.
    """
    producers = {output: node for node in model.graph.node for output in node.output}
    for node in model.graph.node:
        if node.op_type != "Softmax":
            continue
        dequantize = producers.get(node.input[0])
        if dequantize is None or dequantize.op_type != "DequantizeLinear":
            continue
        quantize = producers.get(dequantize.input[0])
        if quantize is not None and quantize.op_type == "QuantizeLinear":
            node.input[0] = quantize.input[0]
    _remove_unused(model.graph)
    return model


def _remove_unused(graph: onnx.GraphProto) -> None:
    """Drop nodes whose outputs nobody reads (repeatedly), then initializers nobody reads."""
    outputs = {output.name for output in graph.output}
    while True:
        read = {name for node in graph.node for name in node.input} | outputs
        unused = [node for node in graph.node if not any(out in read for out in node.output)]
        if not unused:
            break
        for node in unused:
            graph.node.remove(node)
    read = {name for node in graph.node for name in node.input}
    for initializer in [init for init in graph.initializer if init.name not in read]:
        graph.initializer.remove(initializer)
