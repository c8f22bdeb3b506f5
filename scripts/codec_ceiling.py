"""Where the codec loses intelligibility: Whisper WER of each reference as recorded, vocoded from
its exact log-mel, and decoded from 6 and 8 levels of codes, overall and per speaker.

    python scripts/codec_ceiling.py CODEC_DIR REFS_DIR PER_SPEAKER OUT.json
"""
import json, sys, collections
import torch
from vall_e.audio import load_audio
from vall_e.codecs.mel.codec import load_mel_model
from vall_e.eval.run import load_references, to_judge_rate
from vall_e.eval.judges import make_judges, JUDGE_RATE
from vall_e.eval.metrics import edit_counts
torch.set_num_threads(1)
codec_dir = sys.argv[1]; split = sys.argv[2]; per = int(sys.argv[3]); out = sys.argv[4]
model = load_mel_model(codec_dir)
judges = make_judges("whisper", threads=1)
refs = load_references(split, per_speaker=per)
rows = []
for ref in refs:
    wav = load_audio(ref.wav, 24000)
    with torch.no_grad():
        mel = model.analysis(wav[None])
        variants = {"orig": wav, "exact": model.vocoder(mel)[0]}
        for k in (6, 8):
            variants[f"q{k}"] = model.vocoder(model.quantize(mel, k)[1])[0]
    for name, audio in variants.items():
        a16 = load_audio(ref.wav, JUDGE_RATE).numpy() if name == "orig" else to_judge_rate(audio, 24000)
        hyp = judges.transcribe(a16)
        rows.append({"speaker": ref.speaker, "variant": name, **edit_counts(ref.text, hyp)})
    print(ref.name, flush=True)
json.dump(rows, open(out, "w"))
tot = collections.defaultdict(lambda: [0, 0]); per_spk = collections.defaultdict(lambda: [0, 0])
for r in rows:
    tot[r["variant"]][0] += r["word_errors"]; tot[r["variant"]][1] += r["words"]
    per_spk[(r["speaker"], r["variant"])][0] += r["word_errors"]; per_spk[(r["speaker"], r["variant"])][1] += r["words"]
print({k: round(100 * e / n, 1) for k, (e, n) in tot.items()})
for spk in sorted({r["speaker"] for r in rows}):
    print(spk, {v: round(100 * per_spk[(spk, v)][0] / max(1, per_spk[(spk, v)][1]), 1) for v in ("orig", "exact", "q6", "q8")})
