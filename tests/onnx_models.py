"""Small ONNX speaker "models" built by the tests with the ``onnx`` package, in the published models' contract.

WeSpeaker's and 3D-Speaker's exports take float32 filterbank frames [batch, frames, 80] and give one
vector per item. These stand-ins keep that contract with a graph anyone can read: the root mean square
of each (mean-normalised) band over the frames, on a log scale and relative to the bands' average,
projected by a fixed random matrix. They are not good
speaker models; they are real ONNX files that onnxruntime loads and runs like the real ones.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np


def pooling_model(path: Path, *, dimension: int = 32, bands: int = 80, batch: int | str = "batch",
                  input_name: str = "fbank_frames", output_name: str = "speaker_vector") -> Path:  # fmt: skip
    """Write the model to ``path``.

    [batch, frames, bands] -> (log mean over frames of x^2, minus its mean over bands) @ W -> [batch, dimension].
    """
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    weights = np.random.default_rng(7).standard_normal((bands, dimension)).astype(np.float32)
    graph = helper.make_graph(
        [
            helper.make_node("Mul", ["x", "x"], ["squared"]),
            helper.make_node("ReduceMean", ["squared"], ["power"], axes=[1], keepdims=0),
            helper.make_node("Log", ["power"], ["log_power"]),
            helper.make_node("ReduceMean", ["log_power"], ["level"], axes=[1], keepdims=1),
            helper.make_node("Sub", ["log_power", "level"], ["shape"]),
            helper.make_node("MatMul", ["shape", "projection"], ["y"]),
        ],
        "pooling_speaker_model",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [batch, "frames", bands])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [batch, dimension])],
        initializer=[numpy_helper.from_array(weights, "projection")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="fastaudio-tests")
    model.ir_version = 8
    onnx.checker.check_model(model)
    _rename(model, "x", input_name)
    _rename(model, "y", output_name)
    onnx.checker.check_model(model)
    path.write_bytes(model.SerializeToString())
    return path


def _rename(model, old: str, new: str) -> None:  # type: ignore[no-untyped-def]
    for value in list(model.graph.input) + list(model.graph.output):
        if value.name == old:
            value.name = new
    for node in model.graph.node:
        node.input[:] = [new if n == old else n for n in node.input]
        node.output[:] = [new if n == old else n for n in node.output]
