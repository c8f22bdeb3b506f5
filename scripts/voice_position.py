"""Where do a model's clones sit among the voices it knows? (vall_e.eval.voice_encoder)

    python scripts/voice_position.py --encoder runs/voice-encoder --model vall_e/assets/default \
        --refs runs/corpus/v1/eval_unseen --sentences data/eval/sentences.txt \
        --data data/default-shards [--max-sentences 5 --seeds 6]

--refs holds <voice>/<clip>.wav with .txt transcripts: each voice's first clip is the reference
the model clones (as in the evaluation protocol), its other clips are the voice's recordings.
A voice's position is the mean embedding of those recordings; the known voices' positions come
from --data (the model's training shards). For each voice, one row: how close its recordings
and the model's clones (--max-sentences x --seeds) are to the own voice and to the nearest
other, and how often the own voice is the nearest of all. A model that reads voices from its
prompt puts its clones nearest their own voice about as often as the recordings are.
Use an encoder that was not trained toward the model being judged. --lora scores a fine-tuned
voice (give --refs that voice alone).
"""
import argparse
import sys
import torch

from vall_e.cli.common import run_main
from vall_e.data.shards import load_prepared
from vall_e.errors import ConfigError
from vall_e.eval.run import load_references, load_sentences
from vall_e.audio import load_audio
from vall_e.eval.voice_encoder import (
    audio_to_log_mel, centroid, load_voice_encoder, shard_log_mels, voice_positions,
)
from vall_e.inference.loader import load_engine


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--encoder", required=True, help="scripts/train_voice_encoder.py output")
    parser.add_argument("--model", required=True, help="AR+NAR checkpoint or package directory")
    parser.add_argument("--lora", help="a voice's LoRA adapter (python -m vall_e.finetune) merged at load")
    parser.add_argument("--refs", required=True, help="<voice>/<clip>.wav + .txt, 2+ clips a voice")
    parser.add_argument("--sentences", required=True, help="one sentence per line")
    parser.add_argument("--data", required=True, help="the model's training shards (the known voices)")
    parser.add_argument("--max-sentences", type=int, default=5)
    parser.add_argument("--seeds", type=int, default=1, help="seeds 1..N of each sentence")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)
    if args.seeds < 1 or args.max_sentences < 1:
        raise ConfigError("--seeds and --max-sentences must be at least 1")
    torch.set_num_threads(args.threads)
    encoder = load_voice_encoder(args.encoder)
    levels = encoder.config.levels
    engine = load_engine(args.model, "cpu", lora=args.lora)
    if engine.codec.info.name != "mel_rvq":
        raise ConfigError(f"{args.model} speaks through {engine.codec.info.name}; the voice encoder "
                          "reads mel_rvq log-mel: give a model over the mel_rvq codec")
    mel_model = engine.codec.model
    _, utterances = load_prepared(args.data)
    known: dict[str, list] = {}
    for mel, name in zip(*shard_log_mels(mel_model, utterances, levels)):
        known.setdefault(name, []).append(encoder.embed(mel))
    clips: dict[str, list] = {}
    for ref in load_references(args.refs):
        clips.setdefault(ref.speaker, []).append(ref)
    sentences = load_sentences(args.sentences, args.max_sentences)
    print("| voice | recordings: own / nearest other / own nearest | clones: own / nearest other / own nearest |")
    print("|---|---|---|")
    for voice, refs in clips.items():
        if len(refs) < 2:
            raise ConfigError(f"voice {voice} has one clip in {args.refs}; it needs a reference and "
                              "at least one other recording")
        rate = mel_model.spec.sample_rate
        recordings = [encoder.embed(audio_to_log_mel(mel_model, load_audio(r.wav, rate), levels))
                      for r in refs[1:]]
        centroids = {name: centroid(e) for name, e in known.items() if name != voice}
        centroids[voice] = centroid(recordings)
        speaker = engine.create_speaker(refs[0].wav, transcript=refs[0].text)
        clones = []
        for seed in range(1, args.seeds + 1):
            params = engine.default_sampling.with_changes(seed=seed)
            for text in sentences:
                result = engine.synthesize([text], speaker, params, engine.defaults)[0]
                clones.append(encoder.embed(audio_to_log_mel(mel_model, result.audio, levels)))
        a, b = voice_positions(recordings, voice, centroids), voice_positions(clones, voice, centroids)
        print(f"| {voice} | {a.own:.3f} / {a.nearest_other:.3f} / {a.own_nearest:.0%} | "
              f"{b.own:.3f} / {b.nearest_other:.3f} / {b.own_nearest:.0%} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(run_main(main))
