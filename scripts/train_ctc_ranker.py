"""A prototype ranker for ``scripts/study_candidates.py rank --ctc``: a CTC phoneme recognizer
over level-0 codes, which (unlike the critic) is not told where each phoneme is.

    python scripts/train_ctc_ranker.py --out runs/rank/ctc.pt --steps 400

Embedding -> 3 convolutions -> 2-layer bidirectional GRU -> CTC over the default model's text
ids (bos/eos dropped), trained on ``data/default-shards`` with 10% of input codes randomized;
prints the held-out phoneme error rate (greedy decoding). ~4 s a step on 2 busy cores.
"""
from __future__ import annotations

import argparse
import random
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.rnn import pad_sequence


class CTCRecognizer(nn.Module):
    def __init__(self, n_tokens: int, codebook_size: int = 1024, d: int = 192):
        super().__init__()
        self.embedding = nn.Embedding(codebook_size, d)
        self.convs = nn.ModuleList(nn.Conv1d(d, d, 5, padding=2) for _ in range(3))
        self.norms = nn.ModuleList(nn.LayerNorm(d) for _ in range(3))
        self.rnn = nn.GRU(d, d, num_layers=2, batch_first=True, bidirectional=True, dropout=0.1)
        self.dropout = nn.Dropout(0.15)
        self.out = nn.Linear(2 * d, n_tokens + 1)  # 0 is CTC's blank

    def forward(self, codes: torch.Tensor, noise: float = 0.0) -> torch.Tensor:
        if self.training and noise > 0:
            codes = torch.where(torch.rand(codes.shape) < noise,
                                torch.randint_like(codes, self.embedding.num_embeddings), codes)
        x = self.embedding(codes)
        for conv, norm in zip(self.convs, self.norms):
            x = x + self.dropout(F.gelu(conv(norm(x).transpose(1, 2))).transpose(1, 2))
        return F.log_softmax(self.out(self.dropout(self.rnn(x)[0])), -1)

    @torch.no_grad()
    def score(self, level0: torch.Tensor, text: torch.Tensor, durations=None) -> float:
        """log p(text's phonemes | codes) per phoneme (``durations`` unused: CTC finds them)."""
        target = ctc_targets(text.tolist())
        log_probs = self(level0[None].long())[0]
        loss = F.ctc_loss(log_probs[:, None], target[None], torch.tensor([log_probs.shape[0]]),
                          torch.tensor([len(target)]), reduction="sum")
        return -float(loss) / len(target)


def ctc_targets(ids: list[int]) -> torch.Tensor:
    return torch.tensor([i + 1 for i in ids[1:-1]])  # without bos/eos, shifted past the blank


def greedy(log_probs: torch.Tensor) -> list[int]:
    out, previous = [], 0
    for k in log_probs.argmax(-1).tolist():
        if k != previous and k != 0:
            out.append(k)
        previous = k
    return out


def main(argv: list[str] | None = None) -> int:
    import jiwer

    from vall_e.data.shards import load_prepared
    from vall_e.text.tokenizer import PhonemeTokenizer

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="vall_e/assets/default")
    parser.add_argument("--data", default="data/default-shards")
    parser.add_argument("--out", required=True)
    parser.add_argument("--steps", type=int, default=400)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    tokenizer = PhonemeTokenizer.load(f"{args.model}/vocab.json")
    _, utterances = load_prepared(args.data)
    data = [(torch.from_numpy(np.asarray(u.codes[0], np.int64)),
             ctc_targets(tokenizer.encode(u.phonemes, add_bos_eos=True))) for u in utterances]
    rng = random.Random(0)
    torch.manual_seed(0)
    rng.shuffle(data)
    val, train = data[:60], data[60:]
    model = CTCRecognizer(len(tokenizer))
    optimizer = torch.optim.AdamW(model.parameters(), 2e-3, weight_decay=0.01)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, 2e-3, total_steps=args.steps,
                                                   pct_start=0.1)
    start = time.time()
    for step in range(1, args.steps + 1):
        model.train()
        batch = rng.sample(train, 24)
        log_probs = model(pad_sequence([c for c, _ in batch], batch_first=True), 0.1)
        loss = F.ctc_loss(log_probs.transpose(0, 1), torch.cat([t for _, t in batch]),
                          torch.tensor([len(c) for c, _ in batch]),
                          torch.tensor([len(t) for _, t in batch]), zero_infinity=True)
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        schedule.step()
        if step % 200 == 0 or step == args.steps:
            model.eval()
            errors = total = 0
            with torch.no_grad():
                for codes, target in val:
                    hyp = " ".join(map(str, greedy(model(codes[None])[0]))) or "-"
                    errors += jiwer.process_words(" ".join(map(str, target.tolist())), hyp).wer * len(target)
                    total += len(target)
            print(f"step {step}: loss {float(loss.detach()):.3f}, held-out phoneme error rate "
                  f"{errors / total:.3f}, {(time.time() - start) / 60:.1f} min", flush=True)
            torch.save({"n_tokens": len(tokenizer), "state": model.state_dict()}, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
