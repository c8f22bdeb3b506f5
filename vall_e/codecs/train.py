"""Train the project's own ``mel_rvq`` codec: ``python -m vall_e.codecs.train --yaml FILE``.

Stage 1 fits the residual k-means codebooks on stacked log-mel frames of the input audio and
saves them to ``<output>/kmeans.safetensors`` (skipped when that file exists). Stage 2 trains
the vocoder with Lightning, first on exact mels, then on the codes' reconstruction. Rerunning
the same command continues from ``<output>/lightning/last.ckpt``; raising the step counts in
the YAML trains further. ``<output>/codec`` is a loadable codec directory, replaced atomically
every ``checkpoint_every`` steps and at the end:
    get_codec(CodecConfig(name="mel_rvq", path="<output>/codec", n_levels=<levels>))
"""
from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from pathlib import Path

import torch
import yaml

from vall_e.codecs.mel.codec import MelCodecSpec
from vall_e.codecs.mel.features import MelAnalysis, stack_frames
from vall_e.codecs.mel.rvq import fit_residual_kmeans
from vall_e.codecs.mel.train_config import CodecTrainConfig
from vall_e.errors import CheckpointError, ConfigError, VallEError


def _say(quiet: bool, message: str) -> None:
    if not quiet:
        print(message, file=sys.stderr, flush=True)


def check_output(config: CodecTrainConfig, output: Path) -> None:
    """Refuse to continue a run whose codec-defining settings differ; record the config."""
    saved = output / "train_config.yaml"
    if saved.is_file():
        before = CodecTrainConfig.from_dict(yaml.safe_load(saved.read_text()) or {}, str(saved))
        diff = config.frozen_differences(before)
        if diff:
            raise ConfigError(
                f"{output} holds a codec trained with other {diff}; keep those values to "
                "continue it, or pass another --output")
    output.mkdir(parents=True, exist_ok=True)
    saved.write_text(yaml.safe_dump(config.to_dict(), sort_keys=False))


def fit_codebooks(config: CodecTrainConfig, spec: MelCodecSpec, pool: list[torch.Tensor],
                  path: Path, quiet: bool) -> torch.Tensor:
    """Stage 1, or its saved result: [levels, codebook_size, stack * n_mels] centroids."""
    from safetensors.torch import load_file, save_file

    if path.is_file():
        _say(quiet, f"k-means: reusing {path}")
        return load_file(str(path))["codebooks"]
    analysis = MelAnalysis(spec.sample_rate, spec.n_fft, spec.hop, spec.n_mels, spec.stack)
    with torch.no_grad():
        frames = torch.cat([stack_frames(analysis(w.float()[None] / 32767), spec.stack)[0]
                            for w in pool])
    generator = torch.Generator().manual_seed(config.seed)
    if len(frames) > config.kmeans_sample_frames:
        frames = frames[torch.randperm(len(frames), generator=generator)
                        [: config.kmeans_sample_frames]]
    if len(frames) < config.codebook_size:
        raise ConfigError(f"k-means: the input has {len(frames)} frames, fewer than "
                          f"codebook_size {config.codebook_size}; add audio or shrink codebooks")
    _say(quiet, f"k-means: {config.levels} levels x {config.codebook_size} on {len(frames)} frames")
    start = time.monotonic()
    rvq = fit_residual_kmeans(
        frames, config.levels, config.codebook_size, config.kmeans_iterations,
        config.kmeans_batch, seed=config.seed,
        progress=lambda lvl: _say(quiet, f"k-means: level {lvl + 1}/{config.levels} done "
                                         f"({time.monotonic() - start:.0f} s)"))
    tmp = path.with_suffix(".tmp")
    save_file({"codebooks": rvq.codebooks.contiguous()}, str(tmp))
    os.replace(tmp, path)  # a crash mid-write must not leave a file the next run trusts
    return rvq.codebooks


def _initial_codec(config: CodecTrainConfig, spec: MelCodecSpec, kmeans: Path, quiet: bool):
    """``config.init_from`` loaded (None without one); its codebooks are written to ``kmeans``
    so that this run and every resume of it decode codes exactly as that codec does."""
    from safetensors.torch import load_file, save_file

    from vall_e.codecs.mel.codec import load_mel_model

    if not config.init_from:
        return None
    initial = load_mel_model(config.init_from)
    codebooks = initial.rvq.codebooks.detach().float().contiguous()
    if (initial.spec.levels, initial.spec.codebook_size, initial.spec.vocoder) != \
            (spec.levels, spec.codebook_size, spec.vocoder):
        raise ConfigError(f"init_from {config.init_from} is a codec with other levels, "
                          "codebook_size or vocoder_* settings; set the recipe's values to that "
                          "codec's (its config.json)")
    if kmeans.is_file():
        if not torch.equal(load_file(str(kmeans))["codebooks"], codebooks):
            raise ConfigError(f"{kmeans} holds other codebooks than init_from "
                              f"{config.init_from}; pass another --output")
    else:
        save_file({"codebooks": codebooks}, str(kmeans))
    _say(quiet, f"init_from: codebooks and vocoder of {config.init_from}")
    return initial


def _start_step(last: Path) -> int:
    if not last.is_file():
        return 0
    try:
        state = torch.load(last, map_location="cpu", weights_only=True, mmap=True)
        return int(state["global_step"])
    except Exception as exc:
        raise CheckpointError(f"{last} cannot be resumed ({type(exc).__name__}); delete it "
                              "to restart the vocoder from scratch") from None


def train_codec(config: CodecTrainConfig, quiet: bool = False) -> Path:
    """Run or continue both stages; returns ``<output>/codec``."""
    import lightning as L
    from lightning.pytorch.callbacks import ModelCheckpoint
    from lightning.pytorch.loggers import CSVLogger
    from torch.utils.data import DataLoader

    from vall_e.codecs.mel.training import ExportCodec, Segments, VocoderModule, load_pool, spec_for

    config.validate()
    if not config.input:
        raise ConfigError("codec training needs input audio: set `input:` in the YAML or --input")
    torch.set_num_threads(config.threads)
    output = Path(config.output)
    check_output(config, output)
    spec = spec_for(config)
    pool = load_pool(config.input, spec.sample_rate)
    seconds = sum(len(w) for w in pool) / spec.sample_rate
    _say(quiet, f"input: {len(pool)} files, {seconds / 60:.1f} min of audio")
    last = output / "lightning" / "last.ckpt"
    start = _start_step(last)
    initial = _initial_codec(config, spec, output / "kmeans.safetensors", quiet) if not start else None
    codebooks = fit_codebooks(config, spec, pool, output / "kmeans.safetensors", quiet)

    if start:
        _say(quiet, f"vocoder: resuming from step {start} of {config.total_steps}")
    L.seed_everything(config.seed + start, verbose=False)  # model init, then fresh crops
    module = VocoderModule(spec, codebooks, config)
    if initial is not None:
        module.model.vocoder.load_state_dict(initial.vocoder.state_dict())
    step = spec.hop * spec.stack
    samples = max(1, round(config.segment_seconds * spec.sample_rate / step)) * step
    loader = DataLoader(Segments(pool, samples, config.seed, start), batch_size=config.batch_size)
    if quiet:
        logging.getLogger("lightning.pytorch").setLevel(logging.WARNING)
    # <output>/logs/version_N/metrics.csv, one version per (re)run, like the model's runs; the
    # loss curves are plotted by notebooks/05_training_curves.ipynb
    logger = CSVLogger(str(output), name="logs")
    trainer = L.Trainer(
        max_steps=config.total_steps, accelerator="cpu", devices=1,
        precision=config.precision, gradient_clip_val=1.0, logger=logger,
        log_every_n_steps=min(25, config.checkpoint_every),
        enable_progress_bar=not quiet, enable_model_summary=not quiet,
        enable_checkpointing=True, default_root_dir=str(output),
        callbacks=[ModelCheckpoint(dirpath=str(last.parent), save_top_k=0, save_last=True,
                                   enable_version_counter=False,  # see training.train.resume_checkpoint
                                   every_n_train_steps=config.checkpoint_every),
                   ExportCodec(output / "codec", config.checkpoint_every)],
    )
    began = time.monotonic()
    trainer.fit(module, loader, ckpt_path=str(last) if start else None, weights_only=True)
    # the exact end step, whatever checkpoint_every was (weights_only=False: the full state)
    trainer.save_checkpoint(last, weights_only=False)
    done = trainer.global_step - start
    rate = done / max(time.monotonic() - began, 1e-9)
    _say(quiet, f"vocoder: step {trainer.global_step}/{config.total_steps} "
                f"({done} this run, {rate:.2f} steps/s); codec at {output / 'codec'}")
    return output / "codec"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m vall_e.codecs.train",
        description="Train (or continue training) the mel_rvq codec from a YAML recipe.")
    parser.add_argument("--yaml", required=True, metavar="FILE", help="codec recipe, e.g. "
                        "configs/codec/mel50.yaml")
    parser.add_argument("--input", metavar="DIR", help="override the recipe's input audio folder")
    parser.add_argument("--output", metavar="DIR", help="override the recipe's output folder")
    parser.add_argument("--threads", type=int, metavar="N", help="override the recipe's threads")
    parser.add_argument("--quiet", action="store_true", help="no progress bar or status lines")
    args = parser.parse_args(argv)
    try:
        config = CodecTrainConfig.from_yaml(args.yaml)
        if args.input:
            config.input = args.input
        if args.output:
            config.output = args.output
        if args.threads is not None:
            config.threads = args.threads
            config.validate()
        train_codec(config, quiet=args.quiet)
    except VallEError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
