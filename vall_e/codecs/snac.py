"""SNAC (multi-scale neural audio codec) through the ``snac`` package, flattened to [B, K, T].

SNAC's levels run at different rates: the 24 kHz model (hop 512, ``vq_strides=[4, 2, 1]``) gives
L0 at 11.72 Hz, L1 at 23.44 Hz and L2 at 46.875 Hz, 4096 entries each. To fit the codec protocol
([B, K, T] at one frame rate) one *coarse frame* i (4 * 512 = 2048 samples, 11.71875 Hz) holds
the 1 + 2 + 4 = 7 codes SNAC spends on it, as K = 7 sub-levels in coarse-to-fine order::

    k:    0      1        2          3        4          5          6
        L0[i], L1[2i], L1[2i+1], L2[4i], L2[4i+1], L2[4i+2], L2[4i+3]

``decode`` inverts this exactly. (Orpheus interleaves the same 7 codes as
L0, L1a, L2a, L2b, L1b, L2c, L2d; mapping to that order is a permutation of k, done elsewhere.)
In general level j with stride s_j gets s_0 / s_j consecutive sub-levels, so K must equal that
sum (7 for the 24 kHz model); other values of ``n_levels`` are a ConfigError.

Input is right-padded by SNAC's own ``preprocess`` to a multiple of hop * lcm(s_0, attention
window) samples (2048 for 24 kHz), so T = ceil(S / 2048). The decoder has noise blocks: decoding
draws from torch's global RNG, seed it for repeatable audio.

Weights: a local directory with ``config.json`` plus ``model.safetensors`` (our format, see
``save_random_snac``) or ``pytorch_model.bin`` (the hub format, read with
``torch.load(weights_only=True)`` so no pickled objects run). The hub is only contacted when
``allow_download`` is set.
"""
from __future__ import annotations

import json
import math
from pathlib import Path
from typing import TYPE_CHECKING

import torch

from vall_e.codecs.base import AudioCodec, CodecInfo, hub_error, local_error, resolve_source
from vall_e.errors import CheckpointError, ConfigError

if TYPE_CHECKING:
    from vall_e.config import CodecConfig

DEFAULT_HUB_ID = "hubertsiuzdak/snac_24khz"

# The published 24 kHz architecture (hubertsiuzdak/snac_24khz), 19.8 M parameters.
SNAC_24KHZ_CONFIG = dict(
    sampling_rate=24000,
    encoder_dim=48,
    encoder_rates=[2, 4, 8, 8],
    decoder_dim=1024,
    decoder_rates=[8, 8, 4, 2],
    attn_window_size=None,
    codebook_size=4096,
    codebook_dim=8,
    vq_strides=[4, 2, 1],
    noise=True,
    depthwise=True,
)


class SnacCodec(AudioCodec):
    """Wraps a loaded ``snac.SNAC`` model; build it with ``from_config``."""

    def __init__(self, model, n_levels: int = 7, device: str | torch.device = "cpu") -> None:
        strides = [int(s) for s in model.vq_strides]
        # Sub-levels per coarse frame for each SNAC level: 1, 2, 4 for the 24 kHz model.
        self.repeats = [strides[0] // s for s in strides]
        layout_k = sum(self.repeats)
        if n_levels != layout_k:
            raise ConfigError(
                f"codec.n_levels {n_levels} is not valid for snac: this model flattens to "
                f"{layout_k} codes per {strides[0]}-hop frame; set codec.n_levels: {layout_k}"
            )
        hop = int(model.hop_length)
        self.coarse_hop = hop * strides[0]
        self.pad_to = hop * math.lcm(strides[0], model.attn_window_size or 1)
        info = CodecInfo(
            name="snac",
            sample_rate=int(model.sampling_rate),
            frame_rate=model.sampling_rate / self.coarse_hop,
            n_levels=layout_k,
            codebook_size=int(model.codebook_size),
        )
        super().__init__(info, device)
        self.model = model.eval().to(self.device)

    @property
    def hop_length(self) -> int:
        return self.coarse_hop

    def num_frames(self, num_samples: int) -> int:
        padded = math.ceil(int(num_samples) / self.pad_to) * self.pad_to
        return padded // self.coarse_hop

    @classmethod
    def from_config(cls, config: "CodecConfig", device: str | torch.device = "cpu") -> "SnacCodec":
        source, is_local = resolve_source(config, DEFAULT_HUB_ID)
        if not is_local:
            source = _download(source)
        return cls(load_snac_dir(source), n_levels=config.n_levels, device=device)

    @staticmethod
    def save_random(directory: str | Path, seed: int = 0) -> Path:
        return save_random_snac(directory, seed)

    def _move(self, device: torch.device) -> None:
        self.model.to(device)

    def _encode(self, wav: torch.Tensor) -> torch.Tensor:
        levels = self.model.encode(wav)  # level j: [B, T * repeats[j]]
        batch, frames = levels[0].shape
        parts = [
            lvl.reshape(batch, frames, r).transpose(1, 2) for lvl, r in zip(levels, self.repeats)
        ]
        return torch.cat(parts, dim=1)  # [B, K, T], sub-levels coarse to fine

    def _decode(self, codes: torch.Tensor) -> torch.Tensor:
        batch, _, frames = codes.shape
        levels, k = [], 0
        for r in self.repeats:
            levels.append(codes[:, k : k + r].transpose(1, 2).reshape(batch, frames * r))
            k += r
        return self.model.decode(levels)[:, 0]


def _download(repo_id: str) -> str:
    """Fetch config.json and pytorch_model.bin from the hub; return their local directory.

    We download the files ourselves rather than call ``SNAC.from_pretrained`` so that the
    weights go through the same ``weights_only`` loader as local checkpoints.
    """
    try:
        from huggingface_hub import hf_hub_download

        hf_hub_download(repo_id=repo_id, filename="config.json")
        return str(Path(hf_hub_download(repo_id=repo_id, filename="pytorch_model.bin")).parent)
    except Exception as exc:  # no network, unknown repo, ...: all one message
        raise hub_error(repo_id, exc) from None


def load_snac_dir(directory: str | Path):
    """Build ``snac.SNAC`` from ``directory``/config.json and load its weights safely."""
    from snac import SNAC

    directory = Path(directory)
    config_path = directory / "config.json"
    weights = [directory / "model.safetensors", directory / "pytorch_model.bin"]
    found = [p for p in weights if p.is_file()]
    if not config_path.is_file() or not found:
        raise CheckpointError(
            f"{directory} is not a SNAC weights directory (need config.json and "
            "model.safetensors or pytorch_model.bin); save one with save_random_snac or download it"
        )
    try:
        model = SNAC(**json.loads(config_path.read_text()))
        if found[0].suffix == ".safetensors":
            from safetensors.torch import load_file

            state = load_file(str(found[0]))
        else:
            state = torch.load(found[0], map_location="cpu", weights_only=True)
        model.load_state_dict(state)
    except Exception as exc:  # bad JSON, unknown config key, shape mismatch, corrupt file
        raise local_error(str(directory), exc) from None
    return model.eval()


def save_random_snac(directory: str | Path, seed: int = 0) -> Path:
    """Save a seeded random-weight 24 kHz SNAC as config.json + model.safetensors; return dir."""
    from safetensors.torch import save_file
    from snac import SNAC

    directory = Path(directory)
    with torch.random.fork_rng(devices=[]):  # seed the init without disturbing the caller's RNG
        torch.manual_seed(seed)
        model = SNAC(**SNAC_24KHZ_CONFIG).eval()
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "config.json").write_text(json.dumps(SNAC_24KHZ_CONFIG, indent=2) + "\n")
    state = {k: v.detach().contiguous() for k, v in model.state_dict().items()}
    save_file(state, str(directory / "model.safetensors"))
    return directory
