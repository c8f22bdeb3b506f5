"""Which modules get quantized, and the in-place rewrite of a model.

``quantize_model`` replaces the chosen ``nn.Linear`` / ``nn.Embedding`` modules of a float
model by their quantized counterparts and returns the *manifest entries* that describe what it
did; ``apply_manifest`` rebuilds the same module structure (empty) in a freshly built float
model, so the quantized state dict loads into it strictly. Both model families go through the
same code: the only family knowledge here is which modules are output heads.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

from torch import nn

from vall_e.errors import ConfigError
from vall_e.quantize.modules import DynamicInt8Linear, QuantEmbedding, QuantLinear
from vall_e.quantize.qtensor import resolve_group_size

MODES = ("weight-only", "dynamic")


@dataclass(frozen=True)
class QuantSpec:
    """What to quantize and how.

    ``group_size`` 0 = one group per output row (the fast int8 kernel needs it); int4's CPU
    kernel takes groups of 32, 64, 128 or 256. ``mode`` "dynamic" is torch.ao's dynamic int8
    (activations quantized per call too): 8 bits, one scale per row, Linear layers only.
    """

    bits: int = 8
    group_size: int = 0
    mode: str = "weight-only"
    quantize_head: bool = True
    quantize_embeddings: bool = False

    def validate(self) -> "QuantSpec":
        if self.bits not in (8, 4):
            raise ConfigError(f"--bits must be 8 or 4, got {self.bits}")
        if self.mode not in MODES:
            raise ConfigError(f"quantization mode must be one of {list(MODES)}, got {self.mode!r}")
        if self.group_size < 0:
            raise ConfigError(f"--group-size must be >= 0 (0 = one group per row), got {self.group_size}")
        if self.mode == "dynamic":
            if self.bits != 8 or self.group_size != 0:
                raise ConfigError("--dynamic is int8 with one scale per row: use --bits 8 "
                                  "--group-size 0")
            if self.quantize_embeddings:
                raise ConfigError("--dynamic quantizes Linear layers only; drop "
                                  "--quantize-embeddings")
        return self

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "QuantSpec":
        return cls(**{k: data[k] for k in asdict(cls()) if k in data})


def head_names(model: nn.Module) -> set[str]:
    """Qualified names of the output projections (logit heads) of either family."""
    if hasattr(model, "get_output_embeddings"):  # a Hugging Face causal LM (LLM-TTS)
        head = model.get_output_embeddings()
        return {n for n, m in model.named_modules() if m is head}
    lm = getattr(model, "lm", None)
    if lm is not None:  # an LLMTTSModel wrapping one
        return {f"lm.{n}" for n in head_names(lm)}
    return {n for n, _ in model.named_modules() if n.startswith("heads.") or n == "stt_head"}


def select_modules(model: nn.Module, spec: QuantSpec) -> dict[str, str]:
    """name -> "linear" | "embedding" for every module ``spec`` quantizes."""
    heads = head_names(model)
    chosen = {}
    for name, module in model.named_modules():
        if type(module) is nn.Linear:
            if name in heads and not spec.quantize_head:
                continue
            if module.bias is not None:  # QuantLinear is bias-free; the one biased layer (a
                continue                 # pointer model's 256 x 64 duration head) stays float
            chosen[name] = "linear"
        elif type(module) is nn.Embedding and spec.quantize_embeddings:
            chosen[name] = "embedding"
    return chosen


def set_module(model: nn.Module, name: str, module: nn.Module) -> None:
    parent_name, _, child = name.rpartition(".")
    parent = model.get_submodule(parent_name) if parent_name else model
    setattr(parent, child, module)


def _fits(spec: QuantSpec, features: int) -> str | None:
    """Why a layer with ``features`` input columns cannot take ``spec`` (None: it can)."""
    try:
        size = resolve_group_size(spec.group_size, features)
    except ValueError:
        return f"{features} input features are not a multiple of group size {spec.group_size}"
    if spec.bits == 4 and size % 2:
        return f"int4 packs pairs but its groups hold an odd {size} columns"
    return None


def quantize_model(model: nn.Module, spec: QuantSpec) -> tuple[dict[str, dict], dict[str, str]]:
    """Quantize ``model`` in place. Returns the manifest's module entries, and the selected
    modules kept in float because the group size does not fit them (name -> why)."""
    spec.validate()
    entries, kept = {}, {}
    for name, kind in select_modules(model, spec).items():
        module = model.get_submodule(name)
        features = module.in_features if kind == "linear" else module.embedding_dim
        reason = _fits(spec, features)
        if reason is not None:
            kept[name] = reason
            continue
        if kind == "linear":
            cls = DynamicInt8Linear if spec.mode == "dynamic" else QuantLinear
            new = cls.from_linear(module, spec.bits, spec.group_size)
            shape = [module.out_features, module.in_features]
        else:
            new = QuantEmbedding.from_embedding(module, spec.bits, spec.group_size)
            shape = [module.num_embeddings, module.embedding_dim]
        set_module(model, name, new)
        entries[name] = {"kind": kind, "shape": shape, "bits": spec.bits,
                         "group_size": new.group_size}
    return entries, kept


def apply_manifest(model: nn.Module, modules: dict[str, dict], mode: str) -> None:
    """Give a freshly built float ``model`` the quantized modules ``modules`` describes (their
    buffers still empty: the state dict fills them). Raises ``ValueError`` on a mismatch."""
    for name, entry in modules.items():
        try:
            current = model.get_submodule(name)
        except AttributeError:
            raise ValueError(f"the model has no module {name}") from None
        kind, (rows, cols) = entry["kind"], entry["shape"]
        bits, group = int(entry["bits"]), int(entry["group_size"])
        if bits not in (4, 8) or group <= 0 or cols % group:
            raise ValueError(f"{name}: {bits} bits in groups of {group} cannot hold {cols} columns")
        if kind == "linear" and isinstance(current, nn.Linear):
            if [current.out_features, current.in_features] != [rows, cols]:
                raise ValueError(f"{name} is {current.out_features}x{current.in_features} in the "
                                 f"model but {rows}x{cols} in the manifest")
            cls = DynamicInt8Linear if mode == "dynamic" else QuantLinear
            new = cls(rows, cols, bits, group)
        elif kind == "embedding" and isinstance(current, nn.Embedding):
            if [current.num_embeddings, current.embedding_dim] != [rows, cols]:
                raise ValueError(f"{name} is {current.num_embeddings}x{current.embedding_dim} in "
                                 f"the model but {rows}x{cols} in the manifest")
            new = QuantEmbedding(rows, cols, bits, group)
            new.dtype_probe = new.dtype_probe.to(current.weight.dtype)
        else:
            raise ValueError(f"{name} is a {type(current).__name__} in the model, not a {kind}")
        set_module(model, name, new.to(current.weight.device))
