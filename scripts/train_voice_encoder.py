"""Train a speaker encoder on prepared shards' voices (vall_e.eval.voice_encoder): a second voice
judge, finer than Resemblyzer on voices like the corpus's.

    python scripts/train_voice_encoder.py --data data/default-shards \
        --codec vall_e/assets/default/codec --out runs/voice-encoder \
        [--steps 1500] [--heldout runs/corpus/v1/eval_unseen]

Reads the shards' codes as the codec's log-mel (no audio needed); 1,500 steps take ~16 min on
one core for the default corpus (3,960 utterances, 158 voices). --heldout (a directory of
<voice>/<clip>.wav) prints the mean cosine between clips of the same voice and of different
voices, none of which the encoder heard.
"""
import argparse
import sys
from pathlib import Path

import torch

from vall_e.audio import load_audio
from vall_e.cli.common import run_main
from vall_e.codecs.mel.codec import load_mel_model
from vall_e.data.shards import load_prepared
from vall_e.errors import ConfigError
from vall_e.eval.voice_encoder import (
    VoiceEncoderConfig, audio_to_log_mel, save_voice_encoder, shard_log_mels, train_voice_encoder,
)


def heldout_report(encoder, mel_model, directory: Path, levels: int) -> str:
    embeddings, voices = [], []
    for wav in sorted(directory.rglob("*.wav")):
        audio = load_audio(wav, mel_model.spec.sample_rate)
        embeddings.append(encoder.embed(audio_to_log_mel(mel_model, audio, levels)))
        voices.append(wav.parent.name)
    if len(set(voices)) < 2:
        raise ConfigError(f"--heldout {directory} needs clips of at least 2 voices in <voice>/ folders")
    cos = torch.stack(embeddings) @ torch.stack(embeddings).T
    same = torch.tensor([[a == b for b in voices] for a in voices])
    off_diagonal = ~torch.eye(len(voices), dtype=torch.bool)
    return (f"held-out ({len(voices)} clips, {len(set(voices))} voices): same-voice cosine "
            f"{float(cos[same & off_diagonal].mean()):.3f}, between voices {float(cos[~same].mean()):.3f}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, help="prepared shards (python -m vall_e.data prepare)")
    parser.add_argument("--codec", required=True, help="the mel_rvq codec directory the shards were made with")
    parser.add_argument("--out", required=True, help="directory to write the encoder into")
    parser.add_argument("--steps", type=int, default=1500)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--levels", type=int, default=6, help="codec levels the encoder reads")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--heldout", help="<voice>/<clip>.wav of voices the shards lack")
    args = parser.parse_args(argv)
    if args.steps < 1:
        raise ConfigError("--steps must be at least 1")
    torch.set_num_threads(args.threads)
    mel_model = load_mel_model(args.codec)
    _, utterances = load_prepared(args.data)
    mels, speakers = shard_log_mels(mel_model, utterances, args.levels)
    print(f"{len(mels)} utterances, {len(set(speakers))} voices", file=sys.stderr)
    config = VoiceEncoderConfig(n_mels=mels[0].shape[0], levels=args.levels)
    encoder = train_voice_encoder(mels, speakers, config=config, steps=args.steps,
                                  batch_size=args.batch_size, seed=args.seed, progress=True)
    print(f"wrote {save_voice_encoder(encoder, args.out)}")
    if args.heldout:
        print(heldout_report(encoder, mel_model, Path(args.heldout), args.levels))
    return 0


if __name__ == "__main__":
    sys.exit(run_main(main))
