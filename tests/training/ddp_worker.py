"""`python -m tests.training.ddp_worker CONFIG OUT TAG [--resume]`: one training run, as each
DDP rank runs it, that also writes the rank's final weights (OUT/<TAG>-rank<N>.safetensors)
and loop positions (.json) so ``test_strategies`` can compare the ranks.

A script (not a pytest function) because Lightning's DDP launcher starts the other ranks by
re-running the command line that started rank 0.
"""
import json
import sys
from pathlib import Path

import lightning as L
import torch


class RecordRank(L.Callback):
    def __init__(self, out: Path, tag: str):
        self.out, self.tag, self.start = out, tag, None

    def on_train_start(self, trainer, module) -> None:
        self.start = trainer.global_step

    def on_train_end(self, trainer, module) -> None:
        from safetensors.torch import save_file

        name = f"{self.tag}-rank{trainer.global_rank}"
        state = {k: v.detach().cpu().contiguous() for k, v in module.state_dict().items()}
        save_file(state, str(self.out / f"{name}.safetensors"))
        info = {"start": self.start, "end": trainer.global_step, "world": trainer.world_size,
                "strategy": type(trainer.strategy).__name__}
        (self.out / f"{name}.json").write_text(json.dumps(info))


def main(argv: list[str]) -> int:
    from vall_e.config import Config
    from vall_e.training.train import train

    torch.set_num_threads(1)  # two ranks share the machine's cores
    config_path, out, tag = argv[:3]
    Path(out).mkdir(parents=True, exist_ok=True)
    train(Config.from_yaml(config_path), resume="--resume" in argv, progress=False,
          callbacks=[RecordRank(Path(out), tag)])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
