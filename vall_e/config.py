"""Configuration dataclasses, loaded strictly from YAML (``vall_e.strict_yaml``).

One YAML file describes an experiment: ``model``, ``codec``, ``data``, ``train`` and
``inference`` sections, each a dataclass below. Loading is strict: an unknown or mistyped key
is a ``ConfigError`` that lists the valid keys, and a value of the wrong type is refused
before any work starts. Nothing here reads argv or the environment.
"""
from __future__ import annotations

import dataclasses
import importlib.util
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import yaml

from vall_e.errors import ConfigError
from vall_e.strict_yaml import build_dataclass, read_yaml  # noqa: F401 (read_yaml: re-exported)

FAMILIES = ("ar_nar", "llm")
LLM_LAYOUTS = ("flat", "orpheus")
TEXT_UNITS = ("phonemes", "characters")
# Lightning strategy names accepted in train.strategy (all of them Lightning's own)
STRATEGIES = ("auto", "ddp", "ddp_spawn", "ddp_find_unused_parameters_true", "fsdp", "deepspeed",
              "deepspeed_stage_1", "deepspeed_stage_2", "deepspeed_stage_2_offload",
              "deepspeed_stage_3", "deepspeed_stage_3_offload")


ALIGNMENTS = ("none", "pointer", "durations")
VOICE_MATCH_LEVELS = ("fine", "all")  # inference.voice_match_levels: what --voice-match moves
REPEAT_MODES = ("none", "nar", "all")  # inference.repeat_short_prompt: which passes repeat it


@dataclass
class ModelConfig:
    """The network. ``family: ar_nar`` is one shared AR+NAR transformer serving the AR, every NAR
    level and STT; ``family: llm`` is a causal LM (transformers' Llama) over a flat token layout.
    """

    family: str = "ar_nar"  # "ar_nar" or "llm"
    d_model: int = 256
    n_layers: int = 6
    n_heads: int = 4
    ffn_mult: float = 4.0
    dropout: float = 0.1  # on the residual branches (attention and MLP outputs)
    # dropout on the attention weights themselves. 0 by default because on CPU any value > 0
    # sends scaled_dot_product_attention down its math path: 3-4x slower per layer at 1,000
    # positions, and it keeps B x H x T x T probabilities alive for the backward pass (the
    # default model's first run used 17 GB of RAM for it, scripts/bench_attention_dropout.py)
    attention_dropout: float = 0.0
    tasks: list = field(default_factory=lambda: ["tts"])  # subset of ["tts", "stt"]
    # weight of the AR loss scored at every intermediate layer through the shared head; > 0
    # trains the model for early exit and makes it compatible with --layer-skip (ar_nar only)
    early_exit_loss: float = 0.0
    # weight of the guided-attention loss (vall_e.models.guided_attention): a diagonal prior
    # that teaches the first ``guided_attention_heads`` heads of each listed layer to read the
    # phonemes in order. Training only; > 0 makes alignment appear on a small corpus (ar_nar)
    guided_attention: float = 0.0
    guided_attention_layers: list = field(default_factory=lambda: [1, 2])
    guided_attention_heads: int = 1
    guided_attention_sigma: float = 0.2  # width of the diagonal, as a fraction of the utterance
    # audio frames per text token; > 0 turns on aligned positions (ARNARModel.tts_positions):
    # text token k gets the rotary position (k - 0.5) * rate and response frame j the position
    # j, so the phoneme a frame should read sits near relative distance 0 and attention can find
    # it by position before it has learned to by content. 0: one running position (ar_nar)
    text_position_rate: float = 0.0
    # share of the AR's response inputs (the previous level-0 codes it is fed in training)
    # replaced by random codes. Like Tacotron's always-on prenet dropout: a frame-rate AR can
    # predict most frames from the last one and learns to ignore the text; with unreliable
    # history the text is the only sure guide. Training only; 0 = off (ar_nar)
    ar_input_noise: float = 0.0
    # share of the AR's response inputs replaced by the model's own sampled predictions from a
    # no-grad teacher-forced pass (parallel scheduled sampling, Duckworth et al. 2019). Free-
    # running, the AR reads its own history, whose errors are plausible speech, not random
    # codes; this trains it to recover from them. Costs one extra forward pass; training only
    ar_self_inputs: float = 0.0
    # how the AR+NAR knows which phoneme a frame speaks. "none": only through attention (it has
    # to learn the alignment). "pointer": phoneme-synchronous (VALL-E R style): every response
    # frame also carries the embedding of its phoneme and its place inside it (from the shards'
    # durations in training); the AR predicts the level-0 code and, at a phoneme's first frame,
    # how many frames it lasts; at inference the pointer moves forward by at most one phoneme a
    # frame and generation ends when it passes the last one (vall_e.inference.pointer_decode).
    # "durations": no AR at all (FastSpeech-style): a duration predictor reads text + prompt
    # and gives every phoneme its frames, then level 0 is filled in parallel by masked
    # prediction over those frames, each knowing its phoneme (vall_e.models.parallel_level0)
    alignment: str = "none"
    max_inside_frames: int = 32  # pointer/durations: places inside a phoneme with their own embedding
    max_duration_frames: int = 64  # pointer/durations: the duration head's classes (1..this many)
    level0_steps: int = 8  # "durations": masked-prediction passes that fill level 0 at inference
    # "durations" only: text, prompt and SEP form a prefix that attends only to itself, so it is
    # encoded once per sentence and every pass (the duration head reads its text positions;
    # level 0 and each NAR level are "[mode] [frames]") attends to its cached keys: a pass
    # costs its frames alone, and a window of frames can be decoded with its left context, so
    # audio streams within a sentence (vall_e.models.shared_prefix)
    shared_prefix: bool = False
    # shared_prefix, training only: share of items whose frames are cut to a random window (the
    # text and prompt stay whole), as a streamed window sees them
    frame_crop_probability: float = 0.0
    # shared_prefix only: > 0 gives the network the prompt's voice as one vector too. A frozen
    # speaker encoder (vall_e.models.voice_encoder, trained on the corpus's voices by
    # scripts/train_voice_encoder.py) reads the prompt's first ``voice_levels`` codec levels as
    # log-mel; a learned projection of its ``voice_dim``-wide embedding is added to every prefix
    # position and every frame (vall_e.models.voice_conditioning). The network otherwise reads
    # the voice only by attending to the prompt's frames, and a small one learns to recognise
    # the voices it was trained on rather than to read a new one (docs/default-model.md)
    voice_dim: int = 0
    voice_levels: int = 4  # codec levels the encoder reads (its log-mel is their sum)
    voice_width: int = 192  # the encoder's channels
    voice_mels: int = 100  # mel bins of a codec frame's log-mel
    voice_stack: int = 2  # log-mel frames per codec frame (mel_rvq stacks two)
    # a voice encoder directory: the encoder and the codec (codec.path) are copied into a run's
    # fresh weights from here; a checkpoint carries them, so loading one never reads it
    voice_encoder: Optional[str] = None
    # voice_dim, training only: share of items whose prompt frames the network does not see (the
    # vector still reads them), so the voice must come from the vector there. A network that
    # already knows its training voices from their frames otherwise has no use for the vector
    voice_prompt_dropout: float = 0.0
    # ----- family: llm only -----
    layout: Optional[str] = None  # "flat" (any codec, trained here) or "orpheus" (SNAC ids)
    text_units: str = "phonemes"  # flat layout: "phonemes" or "characters"
    # local Hugging Face directory whose weights (and, for orpheus, tokenizer) training starts
    # from; None builds a fresh Llama from d_model / n_layers / n_heads / ffn_mult
    base_model: Optional[str] = None
    # 0 scores only the audio tokens (and the end of speech); > 0 adds the text/prompt tokens
    text_loss_weight: float = 0.0
    max_positions: int = 4096  # longest token sequence (prompt + speech) the LM accepts

    def validate(self) -> None:
        if self.family not in FAMILIES:
            raise ConfigError(f"model.family '{self.family}' is not supported; use one of {list(FAMILIES)}")
        if self.d_model % self.n_heads:
            raise ConfigError(
                f"model.d_model ({self.d_model}) must be divisible by model.n_heads ({self.n_heads})"
            )
        if (self.d_model // self.n_heads) % 2:
            raise ConfigError("model.d_model / model.n_heads must be even (rotary embeddings)")
        for name in ("dropout", "attention_dropout"):
            if not 0 <= getattr(self, name) < 1:
                raise ConfigError(f"model.{name} must be in [0, 1), got {getattr(self, name)}")
        if self.early_exit_loss < 0:
            raise ConfigError(f"model.early_exit_loss must be >= 0, got {self.early_exit_loss}")
        self._validate_guided_attention()
        if self.text_position_rate < 0:
            raise ConfigError(f"model.text_position_rate must be >= 0 (frames per text token; 0 = off), "
                              f"got {self.text_position_rate}")
        if self.text_position_rate > 0 and self.family != "ar_nar":
            raise ConfigError("model.text_position_rate is an AR+NAR feature; set it to 0 for family llm")
        if not 0 <= self.ar_input_noise < 1:
            raise ConfigError(f"model.ar_input_noise must be in [0, 1) (share of AR inputs replaced), "
                              f"got {self.ar_input_noise}")
        if self.ar_input_noise > 0 and self.family != "ar_nar":
            raise ConfigError("model.ar_input_noise is an AR+NAR feature; set it to 0 for family llm")
        if not 0 <= self.ar_self_inputs < 1:
            raise ConfigError(f"model.ar_self_inputs must be in [0, 1) (share of AR inputs replaced by "
                              f"the model's own predictions), got {self.ar_self_inputs}")
        if self.ar_self_inputs > 0 and self.family != "ar_nar":
            raise ConfigError("model.ar_self_inputs is an AR+NAR feature; set it to 0 for family llm")
        self._validate_alignment()
        bad = [t for t in self.tasks if t not in ("tts", "stt")]
        if bad or not self.tasks:
            raise ConfigError(f"model.tasks {self.tasks} invalid; choose from ['tts', 'stt']")
        if self.family == "llm":
            self._validate_llm()
        elif self.layout is not None or self.base_model is not None:
            raise ConfigError("model.layout and model.base_model are for model.family: llm; "
                              "remove them or set family: llm")

    def _validate_alignment(self) -> None:
        if self.alignment not in ALIGNMENTS:
            raise ConfigError(f"model.alignment '{self.alignment}' is not supported; use one of "
                              f"{list(ALIGNMENTS)}")
        if (self.shared_prefix or self.frame_crop_probability) and self.alignment != "durations":
            raise ConfigError("model.shared_prefix and model.frame_crop_probability need "
                              "model.alignment: durations; remove them or switch the alignment")
        if not 0 <= self.frame_crop_probability < 1 or (self.frame_crop_probability
                                                          and not self.shared_prefix):
            raise ConfigError(f"model.frame_crop_probability must be in [0, 1) and needs "
                              f"model.shared_prefix: true, got {self.frame_crop_probability}")
        if self.voice_dim < 0 or (self.voice_dim and not self.shared_prefix):
            raise ConfigError(f"model.voice_dim must be >= 0 and needs model.shared_prefix: true "
                              f"(a durations model), got {self.voice_dim}")
        if not 0 <= self.voice_prompt_dropout < 1 or (self.voice_prompt_dropout and not self.voice_dim):
            raise ConfigError(f"model.voice_prompt_dropout must be in [0, 1) and needs model.voice_dim > 0, "
                              f"got {self.voice_prompt_dropout}")
        if self.voice_dim and min(self.voice_levels, self.voice_width, self.voice_mels,
                                  self.voice_stack) < 1:
            raise ConfigError("model.voice_levels, voice_width, voice_mels and voice_stack must be >= 1")
        if self.alignment == "none":
            return
        if self.family != "ar_nar":
            raise ConfigError(f"model.alignment: {self.alignment} is an AR+NAR feature; use none "
                              "for family llm")
        for name in ("max_inside_frames", "max_duration_frames", "level0_steps"):
            if getattr(self, name) < 1:
                raise ConfigError(f"model.{name} must be >= 1, got {getattr(self, name)}")
        # the first two read the AR's STOP position, which an aligned model does not have; the
        # early-exit loss trains layer-skip, which only the unaligned AR loop runs; a durations
        # model feeds no codes back at all
        refused = ["guided_attention", "ar_self_inputs", "early_exit_loss"]
        if self.alignment == "durations":
            refused.append("ar_input_noise")
        for name in refused:
            if getattr(self, name) > 0:
                raise ConfigError(f"model.{name} does not work with model.alignment: {self.alignment} "
                                  "(the phoneme of every frame is given); set it to 0")

    def _validate_guided_attention(self) -> None:
        if self.guided_attention < 0:
            raise ConfigError(f"model.guided_attention must be >= 0, got {self.guided_attention}")
        if self.guided_attention == 0:
            return
        if self.family != "ar_nar":
            raise ConfigError("model.guided_attention is an AR+NAR feature; set it to 0 for family llm")
        layers = self.guided_attention_layers
        if not layers or any(not isinstance(i, int) or not 0 <= i < self.n_layers for i in layers):
            raise ConfigError(f"model.guided_attention_layers {layers} must be layer indices in "
                              f"[0, {self.n_layers - 1}]")
        if not 1 <= self.guided_attention_heads <= self.n_heads:
            raise ConfigError(f"model.guided_attention_heads must be in [1, {self.n_heads}], "
                              f"got {self.guided_attention_heads}")
        if self.guided_attention_sigma <= 0:
            raise ConfigError(f"model.guided_attention_sigma must be > 0, got {self.guided_attention_sigma}")

    def _validate_llm(self) -> None:
        if self.layout not in LLM_LAYOUTS:
            raise ConfigError(f"model.layout must be one of {list(LLM_LAYOUTS)} for family llm, "
                              f"got {self.layout!r}")
        if self.text_units not in TEXT_UNITS:
            raise ConfigError(f"model.text_units must be one of {list(TEXT_UNITS)}, got {self.text_units!r}")
        if self.layout == "orpheus" and not self.base_model:
            raise ConfigError("model.layout orpheus needs model.base_model: a local Hugging Face "
                              "directory with the Orpheus tokenizer (and weights to start from)")
        if "stt" in self.tasks or self.early_exit_loss > 0:
            raise ConfigError("model.tasks stt and model.early_exit_loss are AR+NAR features; "
                              "family llm trains tts only")
        if self.text_loss_weight < 0:
            raise ConfigError(f"model.text_loss_weight must be >= 0, got {self.text_loss_weight}")
        if self.max_positions < 16:
            raise ConfigError(f"model.max_positions must be >= 16, got {self.max_positions}")


@dataclass
class CodecConfig:
    """Which audio codec turns waveforms into codes, and where its weights live."""

    name: str = "encodec"
    path: Optional[str] = None  # local weights directory, or a hub id when allow_download
    n_levels: int = 8
    allow_download: bool = False


@dataclass
class DataConfig:
    """Data preparation and the training dataset."""

    path: Optional[str] = None  # directory of prepared shards (output of `vall_e.data prepare`)
    language: str = "en-us"
    shard_size: int = 128
    min_seconds: float = 0.3
    max_seconds: float = 20.0
    prompt_seconds: float = 3.0  # longest acoustic prompt used in training
    # shortest one (AR+NAR): each training prompt's length is drawn uniformly between this and
    # prompt_seconds, so references shorter than prompt_seconds are no new condition for the
    # model (None: every prompt is prompt_seconds, or its whole source if shorter)
    min_prompt_seconds: Optional[float] = None
    val_fraction: float = 0.05
    stt_probability: float = 0.25  # share of batches that train STT when model.tasks has it
    # batches of similar-length items (vall_e.training.sampler): far less padding; one device
    bucket_by_length: bool = False
    # share of AR+NAR training examples that are two utterances of one speaker back to back
    # (at most max_seconds together): a small corpus can no longer be recalled sentence by
    # sentence, only read in order (vall_e.training.dataset). Validation never concatenates
    concat_probability: float = 0.0
    # speaker name -> how many times per epoch its utterances are drawn (1 for speakers not
    # named; 3 triples a voice, 0.5 halves it): more steps on the voices spoken worst without
    # new data. Needs bucket_by_length (vall_e.training.sampler)
    speaker_weights: dict = field(default_factory=dict)
    # share of AR+NAR training examples spoken in a voice warped by one of voice_warp_factors
    # (target and prompt alike; vall_e.training.voice_warp): new voices made from the corpus's
    # own, so a model that must copy voices it never heard does not learn its 38 one by one.
    # Needs the mel_rvq codec. Validation never warps
    voice_warp_probability: float = 0.0
    voice_warp_factors: list = field(default_factory=lambda: [0.85, 0.9, 1.1, 1.15])
    # share of AR+NAR training examples whose voice (target and prompt alike) is tilted by one
    # of voice_eq_curves smooth gain curves over the mel bins, peaking at voice_eq_db dB or half
    # that (vall_e.training.voice_warp): timbres no corpus voice has, which the model can only
    # reproduce by reading the prompt. Independent of the warp; needs the mel_rvq codec
    voice_eq_probability: float = 0.0
    voice_eq_db: float = 6.0
    voice_eq_curves: int = 32
    # phoneme durations for audio no teacher timed: a directory written by
    # `python -m vall_e.align train`; prepare uses it where no <id>.timing.json lies beside the
    # audio (None: such utterances get no durations, which an aligned model cannot train on)
    aligner: Optional[str] = None

    def validate(self) -> None:
        if not 0.0 <= self.concat_probability <= 1.0:
            raise ConfigError(f"data.concat_probability must be in [0, 1], got {self.concat_probability}")
        if not 0.0 <= self.voice_warp_probability <= 1.0:
            raise ConfigError("data.voice_warp_probability must be in [0, 1], got "
                              f"{self.voice_warp_probability}")
        from vall_e.codecs.mel.warp import MAX_FACTOR, MIN_FACTOR

        factors = self.voice_warp_factors
        if not isinstance(factors, (list, tuple)) or any(
                isinstance(f, bool) or not isinstance(f, (int, float)) or not MIN_FACTOR <= f <= MAX_FACTOR
                for f in factors):
            raise ConfigError(f"data.voice_warp_factors must be a list of numbers in [{MIN_FACTOR}, "
                              f"{MAX_FACTOR}], got {factors!r}")
        if self.min_prompt_seconds is not None and not 0 < self.min_prompt_seconds <= self.prompt_seconds:
            raise ConfigError(f"data.min_prompt_seconds must be > 0 and at most data.prompt_seconds "
                              f"({self.prompt_seconds}), got {self.min_prompt_seconds}")
        if self.voice_warp_probability > 0 and not factors:
            raise ConfigError("data.voice_warp_probability > 0 needs at least one data.voice_warp_factors entry")
        from vall_e.training.voice_warp import MAX_EQ_DB

        if not 0.0 <= self.voice_eq_probability <= 1.0:
            raise ConfigError(f"data.voice_eq_probability must be in [0, 1], got {self.voice_eq_probability}")
        if not 0.0 < self.voice_eq_db <= MAX_EQ_DB:
            raise ConfigError(f"data.voice_eq_db must be in (0, {MAX_EQ_DB}] decibels, got {self.voice_eq_db}")
        if isinstance(self.voice_eq_curves, bool) or not isinstance(self.voice_eq_curves, int) \
                or self.voice_eq_curves < 1:
            raise ConfigError(f"data.voice_eq_curves must be a whole number >= 1, got {self.voice_eq_curves!r}")
        for speaker, weight in self.speaker_weights.items():
            if isinstance(weight, bool) or not isinstance(weight, (int, float)) or not weight > 0:
                raise ConfigError(f"data.speaker_weights: '{speaker}' has weight {weight!r}; "
                                  "give a positive number (1 = as often as the others)")
        if self.speaker_weights and not self.bucket_by_length:
            raise ConfigError("data.speaker_weights needs data.bucket_by_length: true "
                              "(its batch sampler draws the weighted epochs)")


@dataclass
class TrainConfig:
    """Optimisation and bookkeeping for `python -m vall_e.train`."""

    output_dir: str = "runs/default"
    max_steps: int = 1000
    batch_size: int = 8
    learning_rate: float = 3e-4
    weight_decay: float = 0.01
    warmup_steps: int = 100
    grad_clip: float = 1.0
    precision: str = "32-true"  # or "bf16-mixed"
    val_every_n_steps: int = 200
    checkpoint_every_n_steps: int = 200
    keep_last_checkpoints: int = 3  # older checkpoints/step-N are deleted ...
    keep_every_n_steps: int = 0  # ... except multiples of this (> 0): a record of the run's progress
    log_every_n_steps: int = 10
    seed: int = 0
    num_workers: int = 0
    accelerator: str = "auto"
    devices: Any = 1
    # Lightning's distribution strategy: auto, ddp, ddp_spawn, fsdp, deepspeed[_stage_N] (see
    # STRATEGIES). AR+NAR models score some heads (a NAR level, STT) only on some steps, so
    # for them ddp runs with find_unused_parameters (vall_e.training.train.make_trainer).
    strategy: str = "auto"
    accumulate_grad_batches: int = 1  # optimiser step every N batches (effective batch x N)
    gradient_checkpointing: bool = False  # recompute block activations in backward: less memory
    wandb: bool = False
    wandb_project: str = "vall_e"
    # an exported AR+NAR checkpoint directory whose weights a fresh run starts from (its text
    # vocabulary too); tensors whose shape changed start fresh and are listed. Fresh optimiser
    # and step count: for a new config on old weights (a GPU run, fewer codec levels)
    init_from: Optional[str] = None
    # AR+NAR: share of training steps that also score the NAR (validation always does). The
    # NAR pass costs about as much as the AR's; < 1 buys more AR updates per CPU hour in a
    # phase where the AR, not the NAR, is what has to improve
    nar_probability: float = 1.0
    # wall-clock cap on fit (None: none): training stops at the first step past it and exports
    # that step as usual, so a run on a lent GPU with a hard lease ends with its checkpoints
    max_minutes: Optional[float] = None
    # names (or name prefixes) of the only parameters the run trains, e.g. [voice.projection]
    # to teach a new module to a network that stays as it was; null trains every parameter
    trainable: Optional[list] = None

    def validate(self) -> None:
        if self.trainable is not None and (not self.trainable or not all(
                isinstance(name, str) and name for name in self.trainable)):
            raise ConfigError(f"train.trainable must be a non-empty list of parameter names or "
                              f"prefixes (or null: train everything), got {self.trainable}")
        if self.max_minutes is not None and not self.max_minutes > 0:
            raise ConfigError(f"train.max_minutes must be positive (or null: no limit), got {self.max_minutes}")
        if self.precision not in ("32-true", "32", "bf16-mixed", "16-mixed", "bf16-true"):
            raise ConfigError(
                f"train.precision '{self.precision}' invalid; use 32-true, bf16-mixed or 16-mixed"
            )
        for name in ("max_steps", "batch_size", "val_every_n_steps", "checkpoint_every_n_steps",
                     "accumulate_grad_batches", "keep_last_checkpoints"):
            if getattr(self, name) <= 0:
                raise ConfigError(f"train.{name} must be positive, got {getattr(self, name)}")
        if not 0 < self.nar_probability <= 1:
            raise ConfigError(f"train.nar_probability must be in (0, 1] (share of steps that train "
                              f"the NAR), got {self.nar_probability}")
        if self.keep_every_n_steps < 0:
            raise ConfigError(f"train.keep_every_n_steps must be >= 0 (0: off), got {self.keep_every_n_steps}")
        if self.strategy not in STRATEGIES:
            raise ConfigError(f"train.strategy '{self.strategy}' is not supported; use one of "
                              f"{list(STRATEGIES)}")
        if self.strategy.startswith("deepspeed") and importlib.util.find_spec("deepspeed") is None:
            raise ConfigError(f"train.strategy {self.strategy} needs the deepspeed package "
                              "(pip install deepspeed), or use ddp / fsdp")


@dataclass
class InferenceConfig:
    """Defaults for synthesis; CLI flags override them."""

    language: str = "en-us"
    max_ar_steps: int = 1500
    input_prompt_length: float = 6.0  # seconds of the reference kept as the acoustic prompt
    device: str = "auto"
    max_text_chars: int = 1000
    # AR+NAR over a residual codec: generate and decode only the first N levels (the NAR fills
    # levels 1..N-1). Fewer NAR passes; and a NAR that guesses a level worse than leaving it out
    # (measured for the default model in training) can be kept out of the audio. None = all
    levels: Optional[int] = None
    # AR+NAR shared-prefix models: level-0 passes of a stream's first window only (later windows
    # and one-pass synthesis keep model.level0_steps); fewer make the first audio come sooner
    stream_first_steps: Optional[int] = None
    # AR+NAR shared-prefix models: codec levels a stream's windows generate (None = levels);
    # a window's NAR sees less context than one pass, and its finer levels suffer most
    stream_levels: Optional[int] = None
    # AR+NAR shared-prefix models: frames each stream window draws past what it commits (redrawn
    # by the next window), so committed frames have right neighbours; None = the stream's 12
    stream_lookahead: Optional[int] = None
    # AR+NAR shared-prefix models: level-0 candidates drawn for each sentence; the phoneme
    # critic shipped beside the weights (MODEL/critic, vall_e.align.critic) keeps the one whose
    # frames best sound like their phonemes. Each costs a set of level-0 passes; 1 = no ranking
    candidates: int = 1
    # AR+NAR: a reference shorter than input_prompt_length is repeated (a short pause between
    # the copies, its own ending last) until the prompt is that long, for the NAR's passes
    # (nar) or every pass (all); none: the reference as it is (vall_e.inference.prompt_fill)
    repeat_short_prompt: str = "none"
    # AR+NAR over mel_rvq: each output frame moved this share (0..1) of the way toward its
    # nearest frames of the reference (vall_e.codecs.mel.voice_match); 0 = off
    voice_match: float = 0.0
    # what voice_match moves: "fine", what the levels above 0 add (level 0, where the words
    # are, stays), or "all", the whole log-mel frame
    voice_match_levels: str = "fine"
    # sampler settings this model was measured best with (SamplingParams fields, e.g.
    # {ar_temp: 0.6}); they replace SamplingParams' defaults, and command-line flags override them
    sampling: dict = field(default_factory=dict)
    # AR+NAR phoneme-aligned models: the pace that --speed 1 means, as a factor on the pace the
    # duration head predicts (0.8: every predicted length / 0.8). The user's --speed multiplies
    # it, so "1 = the model's own pace" holds through the CLI, the Interface and the server
    pace: float = 1.0


@dataclass
class Config:
    model: ModelConfig = field(default_factory=ModelConfig)
    codec: CodecConfig = field(default_factory=CodecConfig)
    data: DataConfig = field(default_factory=DataConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    inference: InferenceConfig = field(default_factory=InferenceConfig)

    def validate(self) -> "Config":
        self.model.validate()
        self.data.validate()
        self.train.validate()
        levels = self.inference.levels
        if levels is not None and self.model.family != "ar_nar":
            raise ConfigError("inference.levels is for AR+NAR models; remove it for family llm")
        if levels is not None and not 1 <= levels <= self.codec.n_levels:
            raise ConfigError(f"inference.levels must be between 1 and codec.n_levels "
                              f"({self.codec.n_levels}), got {levels}")
        stream_levels = self.inference.stream_levels
        if stream_levels is not None and (self.model.family != "ar_nar"
                                          or not 1 <= stream_levels <= self.codec.n_levels):
            raise ConfigError(f"inference.stream_levels must be between 1 and codec.n_levels "
                              f"({self.codec.n_levels}) and is for AR+NAR models, got "
                              f"{stream_levels} for family {self.model.family}")
        lookahead = self.inference.stream_lookahead
        if lookahead is not None and (self.model.family != "ar_nar" or lookahead < 0):
            raise ConfigError(f"inference.stream_lookahead must be >= 0 frames and is for AR+NAR "
                              f"models, got {lookahead} for family {self.model.family}")
        first = self.inference.stream_first_steps
        if first is not None and (self.model.family != "ar_nar" or first < 1):
            raise ConfigError(f"inference.stream_first_steps must be >= 1 and is for AR+NAR "
                              f"models, got {first} for family {self.model.family}")
        if self.inference.candidates != 1 and (self.inference.candidates < 1
                                               or not self.model.shared_prefix):
            raise ConfigError(f"inference.candidates must be >= 1, and above 1 needs a shared-prefix "
                              f"durations model (model.shared_prefix: true), got "
                              f"{self.inference.candidates}")
        for key in ("voice_warp_probability", "voice_eq_probability"):
            if getattr(self.data, key) > 0 and (self.model.family != "ar_nar" or self.codec.name != "mel_rvq"):
                raise ConfigError(f"data.{key} changes mel_rvq codes for AR+NAR training; this is "
                                  f"family {self.model.family} with codec {self.codec.name}: set it to 0")
        if self.data.min_prompt_seconds is not None and self.model.family != "ar_nar":
            raise ConfigError("data.min_prompt_seconds varies the prompt of AR+NAR training; "
                              f"family {self.model.family} lays out its prompt itself: leave it out")
        repeat = self.inference.repeat_short_prompt
        if repeat not in REPEAT_MODES:
            raise ConfigError(f"inference.repeat_short_prompt must be none, nar or all, got {repeat!r}")
        if repeat != "none" and self.model.family != "ar_nar":
            raise ConfigError("inference.repeat_short_prompt is for AR+NAR models (an LLM-TTS "
                              "prompt is text and codes in one sequence); remove it")
        match = self.inference.voice_match
        if not 0.0 <= match <= 1.0:
            raise ConfigError(f"inference.voice_match must be between 0 and 1, got {match}")
        if match and (self.model.family != "ar_nar" or self.codec.name != "mel_rvq"):
            raise ConfigError("inference.voice_match matches mel_rvq's log-mel frames in an AR+NAR "
                              f"model; remove it for family {self.model.family} with codec "
                              f"{self.codec.name}")
        if self.inference.voice_match_levels not in VOICE_MATCH_LEVELS:
            raise ConfigError(f"inference.voice_match_levels must be one of "
                              f"{list(VOICE_MATCH_LEVELS)}, got {self.inference.voice_match_levels!r}")
        if not self.inference.input_prompt_length > 0:
            raise ConfigError(f"inference.input_prompt_length must be a positive number of "
                              f"seconds, got {self.inference.input_prompt_length}")
        pace = self.inference.pace
        if not 0.25 <= pace <= 4.0:
            raise ConfigError(f"inference.pace must be in [0.25, 4] (1 = the pace the model "
                              f"predicts), got {pace}")
        if pace != 1.0 and (self.model.family != "ar_nar" or self.model.alignment == "none"):
            raise ConfigError("inference.pace needs a phoneme-aligned AR+NAR model (model.alignment: "
                              "pointer or durations); remove it for this model")
        if self.inference.sampling:
            # imported here: the config module stays light
            from vall_e.sampling.params import SamplingParams

            SamplingParams.from_mapping(self.inference.sampling, "inference.sampling")
        if self.train.init_from and self.model.family != "ar_nar":
            raise ConfigError("train.init_from starts an AR+NAR run from a checkpoint; an LLM-TTS "
                              "run starts from model.base_model instead")
        if self.train.nar_probability < 1 and self.model.family != "ar_nar":
            raise ConfigError("train.nar_probability is for AR+NAR models (an LLM-TTS model has no "
                              "NAR); remove it for family llm")
        return self

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, raw: dict, source: str = "config") -> "Config":
        return build_dataclass(cls, raw, source).validate()

    @classmethod
    def from_yaml(cls, path: str | Path) -> "Config":
        return cls.from_dict(read_yaml(path, "config file"), source=str(path))

    def save_yaml(self, path: str | Path) -> None:
        Path(path).write_text(yaml.safe_dump(self.to_dict(), sort_keys=False))


def load_config(path: str | Path | None) -> Config:
    """Load a YAML config, or the defaults when ``path`` is None."""
    return Config.from_yaml(path) if path else Config().validate()
