"""How far does a voice warp move a voice, and does the speech stay intelligible?

For a few training voices of prepared shards, decodes one utterance through the mel_rvq
codec as it is and warped by each factor (vall_e.codecs.mel.warp), and prints Resemblyzer's
cosine to the unwarped decode (with another utterance of the same voice for scale) and
Whisper's transcript. Needs `pip install -e ".[eval]"`.

    python scripts/voice_warp_check.py --data data/default-shards \
        --codec vall_e/assets/default/codec [--speakers kokoro_jm_kumo piper_joe] [--factors 0.85 1.15]
"""
import argparse
import sys

import numpy as np
import torch

from vall_e.cli.common import run_main
from vall_e.codecs.mel.codec import load_mel_model
from vall_e.codecs.mel.warp import warp_codes
from vall_e.data.shards import load_prepared
from vall_e.errors import ConfigError


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, help="prepared shards (mel_rvq codes)")
    parser.add_argument("--codec", required=True, help="the mel_rvq codec directory that made them")
    parser.add_argument("--speakers", nargs="+",
                        default=["kokoro_blend_03", "kokoro_jm_kumo", "piper_joe"])
    parser.add_argument("--factors", nargs="+", type=float, default=[0.85, 0.9, 0.95, 1.05, 1.1, 1.15])
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    import librosa

    from vall_e.eval.judges import Judges

    model = load_mel_model(args.codec)
    judges = Judges(threads=args.threads)
    rate = model.spec.sample_rate
    _, utterances = load_prepared(args.data)

    def speech(codes) -> np.ndarray:
        with torch.no_grad():
            wav = model.vocoder(model.dequantize(torch.as_tensor(np.asarray(codes, np.int64))[None]))
        return librosa.resample(wav[0].numpy(), orig_sr=rate, target_sr=16000).astype(np.float32)

    print("| voice | factor | cosine to the unwarped decode | Whisper |")
    print("|---|---|---|---|")
    for speaker in args.speakers:
        own = [u for u in utterances if u.speaker == speaker]
        if len(own) < 2:
            raise ConfigError(f"{args.data} has fewer than 2 utterances of {speaker}")
        base = judges.embed(speech(own[0].codes))
        other = judges.embed(speech(own[1].codes))
        print(f"| {speaker} | another utterance | {float(base @ other):.3f} | |")
        for alpha in args.factors:
            warped = warp_codes(model, torch.as_tensor(np.asarray(own[0].codes, np.int64)), alpha)
            audio = speech(warped)
            print(f"| {speaker} | {alpha:g} | {float(base @ judges.embed(audio)):.3f} | "
                  f"{judges.transcribe(audio)} |", flush=True)
        print(f"| {speaker} | (text) | | {own[0].text} |")
    return 0


if __name__ == "__main__":
    sys.exit(run_main(main))
