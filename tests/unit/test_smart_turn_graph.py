"""`with_float_softmax`: the edit of Smart Turn's graph that keeps its softmax in float."""

from __future__ import annotations

import numpy as np
import onnx
import onnxruntime
from onnx import TensorProto, helper, numpy_helper

from voice_agent.adapters.local.onnx_graph import with_float_softmax


def _quantized_attention() -> onnx.ModelProto:
    """logits -> QuantizeLinear -> DequantizeLinear -> Softmax -> QuantizeLinear ->
    DequantizeLinear -> output: the shape of each attention softmax in the shipped file."""
    constants = [
        numpy_helper.from_array(np.array(0.5, dtype=np.float32), "logit_scale"),
        numpy_helper.from_array(np.array(0, dtype=np.uint8), "logit_zero"),
        numpy_helper.from_array(np.array(1 / 255, dtype=np.float32), "prob_scale"),
        numpy_helper.from_array(np.array(0, dtype=np.uint8), "prob_zero"),
    ]
    nodes = [
        helper.make_node("QuantizeLinear", ["logits", "logit_scale", "logit_zero"], ["q"]),
        helper.make_node("DequantizeLinear", ["q", "logit_scale", "logit_zero"], ["dq"]),
        helper.make_node("Softmax", ["dq"], ["probs"], axis=-1),
        helper.make_node("QuantizeLinear", ["probs", "prob_scale", "prob_zero"], ["qp"]),
        helper.make_node("DequantizeLinear", ["qp", "prob_scale", "prob_zero"], ["out"]),
    ]
    graph = helper.make_graph(
        nodes,
        "attention",
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, 4])],
        [helper.make_tensor_value_info("out", TensorProto.FLOAT, [1, 4])],
        initializer=constants,
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])


def _run(model: onnx.ModelProto, logits: np.ndarray) -> np.ndarray:
    session = onnxruntime.InferenceSession(
        model.SerializeToString(), providers=["CPUExecutionProvider"]
    )
    (out,) = session.run(None, {"logits": logits})
    return np.asarray(out)


def test_the_softmax_reads_the_float_logits_and_their_round_trip_is_gone() -> None:
    edited = with_float_softmax(_quantized_attention())
    softmax = next(node for node in edited.graph.node if node.op_type == "Softmax")
    assert list(softmax.input) == ["logits"]
    assert [node.op_type for node in edited.graph.node] == [
        "Softmax",
        "QuantizeLinear",
        "DequantizeLinear",
    ]
    assert sorted(init.name for init in edited.graph.initializer) == ["prob_scale", "prob_zero"]


def test_the_edited_graph_computes_the_softmax_of_the_exact_logits() -> None:
    """Logits 0.2 apart are one quantization step (0.5) apart or none in the shipped form,
    so it hears them as equal; the edit keeps the difference (up to the output's step)."""
    logits = np.array([[0.0, 0.2, 1.1, 3.0]], dtype=np.float32)
    exact = np.exp(logits) / np.exp(logits).sum()
    shipped = _run(_quantized_attention(), logits)
    edited = _run(with_float_softmax(_quantized_attention()), logits)
    assert np.abs(edited - exact).max() <= 1 / 255
    assert np.abs(shipped - exact).max() > 1 / 255


def test_a_graph_without_the_pattern_is_left_as_it_is() -> None:
    graph = helper.make_graph(
        [helper.make_node("Softmax", ["logits"], ["out"], axis=-1)],
        "plain",
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, 4])],
        [helper.make_tensor_value_info("out", TensorProto.FLOAT, [1, 4])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    before = model.SerializeToString()
    assert with_float_softmax(model).SerializeToString() == before
