"""``torch.compile`` of the per-step decode function (not the world), over a static KV cache.

A compiled graph is specialised to its input shapes, and the eager caches grow every step, so
the compiled step works on *static* buffers instead: after the (eager) prefill, the keys and
values are copied into buffers of a fixed capacity (the prompt plus the step budget, rounded up
to a power of two so that few shapes, hence few compilations, occur), each step writes its
key/value at an index tensor and attends over the whole buffer under a key-validity mask.
Unwritten slots are masked, so the result is the eager one up to float summation order.

- ``ARNARStepper``: the AR+NAR model's blocks + final norm (the heads stay outside);
- ``LLMStepper``: a Hugging Face causal LM with its ``StaticCache``, returning the last logits;
- ``FramePasser``: a shared-prefix durations model's passes over a window of frames against
  its cached prefix (``vall_e.inference.shared_prefix_decode``), compiled once with dynamic
  shapes (windows and prefixes differ in length every sentence).

Both compile lazily; ``warm_up`` runs one step on dummy inputs so that the first utterance does
not pay for compilation. When compilation (or a compiled call) fails, the stepper warns once and
runs the same static-cache step eagerly from then on. Shapes differ per batch size and capacity
bucket; each new one compiles once more on first use.
"""
from __future__ import annotations

import warnings

import torch

MIN_CAPACITY = 256
DEFAULT_BACKEND = "inductor"  # what --compile uses; tests swap in "eager" (dynamo without codegen)


def capacity_for(length: int) -> int:
    """Static cache capacity for ``length`` positions: the next power of two (>= 256)."""
    return max(MIN_CAPACITY, 1 << max(0, length - 1).bit_length())


class _CompiledStep:
    """A step function compiled on first use; eager (after one warning) once compiling fails."""

    def __init__(self, fn, enabled: bool, backend: str, label: str, dynamic: bool = False):
        self.eager = fn
        self.label = label
        self.fn = torch.compile(fn, backend=backend, dynamic=dynamic) if enabled else fn

    @property
    def compiled(self) -> bool:
        return self.fn is not self.eager

    def __call__(self, *args):
        try:
            return self.fn(*args)
        except Exception as exc:
            if not self.compiled:
                raise
            reason = " ".join(str(exc).split())[:160] or type(exc).__name__
            warnings.warn(f"torch.compile of the {self.label} decode step failed ({reason}); "
                          "decoding eagerly instead", RuntimeWarning, stacklevel=3)
            self.fn = self.eager
            return self.eager(*args)


class _StaticSlot:
    """One layer's static keys/values, with the ``append`` the model's attention calls."""

    def __init__(self, keys: torch.Tensor, values: torch.Tensor, index: torch.Tensor):
        self.keys, self.values, self.index = keys, values, index

    def append(self, k: torch.Tensor, v: torch.Tensor):
        self.keys.index_copy_(2, self.index, k)
        self.values.index_copy_(2, self.index, v)
        return self.keys, self.values


class ARNARStepper:
    """Cached single-position steps of an ``ARNARModel`` over static buffers."""

    def __init__(self, model, compile: bool = True, backend: str = "inductor"):
        self.model = model
        self.n_layers = len(model.blocks)
        self.step_fn = _CompiledStep(self._step, compile, backend, "AR+NAR")
        self._buffers: dict[tuple, tuple] = {}  # reused, so the compiled graph sees the same inputs

    def _step(self, x, positions, key_valid, keys, values, index):
        mask = key_valid[:, None, None, :]
        rope = self.model.rotary(positions)
        for block, k, v in zip(self.model.blocks, keys, values):
            x = block(x, rope, mask, _StaticSlot(k, v, index))
        return self.model.norm(x)

    def begin(self, cache, max_steps: int) -> None:
        """Copy an eager ``KVCache`` (after the prefill) into static buffers for ``max_steps``."""
        first = cache.layers[0]
        batch, heads, _, head_dim = first.keys.shape
        length = cache.length
        key = (batch, heads, capacity_for(length + max_steps + 1), head_dim, first.keys.dtype)
        if key not in self._buffers:
            shape, dtype, device = key[:4], key[4], first.keys.device
            self._buffers[key] = (
                [torch.zeros(shape, dtype=dtype, device=device) for _ in range(self.n_layers)],
                [torch.zeros(shape, dtype=dtype, device=device) for _ in range(self.n_layers)],
                torch.zeros(batch, shape[2], dtype=torch.bool, device=device),
                torch.zeros(1, dtype=torch.long, device=device))
        keys, values, key_valid, index = self._buffers[key]
        for layer, k, v in zip(cache.layers, keys, values):
            k.zero_()
            v.zero_()
            k[:, :, :length] = layer.keys[:, :, :length]
            v[:, :, :length] = layer.values[:, :, :length]
        key_valid.zero_()
        key_valid[:, :length] = cache.key_valid
        index.fill_(length)
        self._current = (keys, values, key_valid, index)

    def step(self, x: torch.Tensor, positions: torch.Tensor) -> tuple[torch.Tensor, int]:
        """x [B, 1, d] at positions [B, 1] -> (normed hidden [B, 1, d], layers run)."""
        keys, values, key_valid, index = self._current
        if int(index) >= key_valid.shape[1]:
            raise RuntimeError("static KV cache is full: begin() was given too few steps")
        key_valid.index_fill_(1, index, True)
        hidden = self.step_fn(x, positions, key_valid, keys, values, index)
        index.add_(1)
        return hidden, self.n_layers

    def warm_up(self, prefix_length: int, max_steps: int) -> None:
        """Compile for batch 1 at this budget now, not during the first utterance."""
        from vall_e.models.layers import KVCache

        device = self.model.norm.weight.device
        dtype = self.model.norm.weight.dtype
        d = self.model.config.d_model
        with torch.inference_mode():
            cache = KVCache(self.n_layers)
            ones = torch.ones(1, prefix_length, dtype=torch.bool, device=device)
            # float, as every AR+NAR position is (ARNARModel.tts_positions): a compiled graph
            # is guarded on dtypes too
            positions = torch.arange(prefix_length, dtype=torch.float32, device=device)[None]
            x = torch.zeros(1, prefix_length, d, dtype=dtype, device=device)
            self.model.hidden_states(x, positions, ones, causal=True, cache=cache)
            self.begin(cache, max_steps)
            # fresh [1, 1, d] inputs, not slices of the prefill's: a compiled graph is guarded on
            # strides, and x[:, :1] has a batch stride of prefix_length * d where real steps
            # have d, so the first utterance compiled a second graph (~1 s, measured)
            step_x = torch.zeros(1, 1, d, dtype=dtype, device=device)
            for step in range(2):
                self.step(step_x, torch.full((1, 1), float(prefix_length + step), device=device))


class LLMStepper:
    """Cached single-token steps of a Hugging Face causal LM over a ``StaticCache``."""

    def __init__(self, model, compile: bool = True, backend: str = "inductor"):
        self.lm = model.lm
        self.step_fn = _CompiledStep(self._step, compile, backend, "LLM-TTS")
        self._caches: dict[tuple, tuple] = {}

    def _step(self, ids, positions, key_valid, cache):
        out = self.lm(input_ids=ids, attention_mask=key_valid[:, None, None, :],
                      position_ids=positions, past_key_values=cache, use_cache=True)
        return out.logits[:, -1]

    def begin(self, cache, attention_mask: torch.Tensor, max_steps: int) -> None:
        """Copy a ``DynamicCache`` (after the prefill) into a ``StaticCache`` for ``max_steps``."""
        from transformers import StaticCache

        first = cache.layers[0]
        batch, length = attention_mask.shape
        capacity = capacity_for(length + max_steps + 1)
        key = (batch, capacity, first.keys.dtype)
        if key not in self._caches:
            static = StaticCache(config=self.lm.config, max_cache_len=capacity)
            key_valid = torch.zeros(batch, capacity, dtype=torch.bool, device=first.keys.device)
            self._caches[key] = (static, key_valid)
        static, key_valid = self._caches[key]
        for layer, source in zip(static.layers, cache.layers):
            if not layer.is_initialized:
                layer.lazy_initialization(source.keys, source.values)
            layer.keys.zero_()
            layer.values.zero_()
            layer.keys[:, :, :length] = source.keys
            layer.values[:, :, :length] = source.values
            layer.cumulative_length.fill_(length)
        key_valid.zero_()
        key_valid[:, :length] = attention_mask.bool()
        self._current = (static, key_valid)

    def step(self, ids: torch.Tensor, positions: torch.Tensor) -> torch.Tensor:
        """ids [B, 1] at positions [B, 1] -> logits [B, V] of the next token."""
        static, key_valid = self._current
        written = static.layers[0].cumulative_length
        if int(written) >= key_valid.shape[1]:
            raise RuntimeError("static KV cache is full: begin() was given too few steps")
        key_valid.index_fill_(1, written.reshape(1), True)
        return self.step_fn(ids, positions, key_valid, static)

    def warm_up(self, prefix_length: int, max_steps: int) -> None:
        from transformers import DynamicCache

        device = next(self.lm.parameters()).device
        with torch.inference_mode():
            ids = torch.zeros(1, prefix_length, dtype=torch.long, device=device)
            mask = torch.ones_like(ids)
            cache = DynamicCache()
            self.lm(input_ids=ids, attention_mask=mask, past_key_values=cache, use_cache=True)
            self.begin(cache, mask, max_steps)
            step_ids = torch.zeros(1, 1, dtype=torch.long, device=device)  # real strides, see above
            for step in range(2):
                self.step(step_ids, torch.full((1, 1), prefix_length + step, device=device))


class _PrefixSlot:
    """One layer's cached prefix keys/values; a pass's own keys/values are appended to a copy,
    so the prefix stays as it was (what ``shared_prefix_decode`` rolls back by truncating)."""

    def __init__(self, keys: torch.Tensor, values: torch.Tensor):
        self.keys, self.values = keys, values

    def append(self, k: torch.Tensor, v: torch.Tensor):
        return torch.cat([self.keys, k], 2), torch.cat([self.values, v], 2)


class FramePasser:
    """Compiled passes of a shared-prefix model over frames against its cached prefix.

    Every level-0 and NAR pass is the same few dozen small operations over a few dozen frames;
    eagerly, each is its own dispatch, and on a 2-core CPU that overhead is about half a pass.
    Compiled with dynamic shapes, one graph serves every window and prefix length (measured
    ~2x faster per pass, ``docs/serve.md``). A failing compile warns once and runs eagerly.
    """

    def __init__(self, model, compile: bool = True, backend: str = "inductor"):
        self.model = model
        self.pass_fn = _CompiledStep(self._pass, compile, backend, "shared-prefix frame pass",
                                     dynamic=True)

    def _pass(self, x, positions, key_valid, keys, values):
        from vall_e.models.layers import attention_mask

        # None when every key is valid: SDPA's unmasked kernel, as the eager pass uses it
        mask = None if key_valid is None else attention_mask(x.shape[1], key_valid, causal=False)
        rope = self.model.rotary(positions)
        for block, k, v in zip(self.model.blocks, keys, values):
            x = block(x, rope, mask, _PrefixSlot(k, v))
        return self.model.norm(x)

    def __call__(self, cache, prefix_valid: torch.Tensor, x: torch.Tensor,
                 positions: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
        """Hidden states [B, T, d] of frames ``x`` [B, T, d] after the cached prefix (the
        ``KVCache`` of ``encode_prefix``, left unchanged)."""
        keys = [layer.keys[:, :, :layer.length] for layer in cache.layers]
        values = [layer.values[:, :, :layer.length] for layer in cache.layers]
        key_valid = torch.cat([prefix_valid, valid], 1)
        return self.pass_fn(x, positions, None if bool(key_valid.all()) else key_valid,
                            keys, values)

    def warm_up(self, prefix_length: int, frames: int) -> None:
        """Compile now (two window sizes, so the graph's shapes are symbolic from the start)."""
        from vall_e.models.layers import KVCache

        device = self.model.norm.weight.device
        dtype = self.model.norm.weight.dtype
        d = self.model.config.d_model
        with torch.inference_mode():
            cache = KVCache(len(self.model.blocks))
            ones = torch.ones(1, prefix_length, dtype=torch.bool, device=device)
            positions = torch.arange(prefix_length, dtype=torch.float32, device=device)[None]
            x = torch.zeros(1, prefix_length, d, dtype=dtype, device=device)
            self.model.hidden_states(x, positions, ones, causal=False, cache=cache)
            for t in (frames, frames + 7):
                window = torch.zeros(1, t, d, dtype=dtype, device=device)
                at = torch.arange(t, dtype=torch.float32, device=device)[None]
                self(cache, ones, window, at, torch.ones(1, t, dtype=torch.bool, device=device))
