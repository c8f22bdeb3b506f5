"""Training at scale through Lightning's own strategies: train.strategy / devices / precision /
accumulate_grad_batches / gradient_checkpointing from YAML, and a real 2-process DDP run on
CPU (gloo) whose ranks end with identical weights and whose checkpoint resumes."""
import json

import pytest
import torch
import yaml
from safetensors.torch import load_file

from tests.conftest import run_module, write_tiny_config
from vall_e.config import Config
from vall_e.errors import ConfigError


def test_strategy_and_accumulation_are_validated():
    assert Config.from_dict({"train": {"strategy": "ddp", "devices": 2}}).train.strategy == "ddp"
    with pytest.raises(ConfigError, match="train.strategy 'horovod' is not supported"):
        Config.from_dict({"train": {"strategy": "horovod"}})
    with pytest.raises(ConfigError, match="accumulate_grad_batches must be positive"):
        Config.from_dict({"train": {"accumulate_grad_batches": 0}})
    with pytest.raises(ConfigError, match="expected bool"):
        Config.from_dict({"train": {"gradient_checkpointing": "yes"}})


def test_deepspeed_is_refused_when_not_installed():
    import importlib.util

    if importlib.util.find_spec("deepspeed") is not None:
        pytest.skip("deepspeed is installed here")
    with pytest.raises(ConfigError, match="needs the deepspeed package"):
        Config.from_dict({"train": {"strategy": "deepspeed_stage_2"}})


def test_trainer_takes_strategy_devices_precision_and_accumulation(tmp_path):
    from lightning.pytorch.strategies import DDPStrategy

    from vall_e.training.train import make_trainer

    config = Config.from_dict({"train": {"strategy": "ddp_spawn", "devices": 2,
                                         "accelerator": "cpu", "accumulate_grad_batches": 3,
                                         "precision": "bf16-mixed", "val_every_n_steps": 5}})
    trainer = make_trainer(config, tmp_path, [], progress=False)
    assert isinstance(trainer.strategy, DDPStrategy) and trainer.num_devices == 2
    assert trainer.accumulate_grad_batches == 3 and trainer.val_check_interval == 15
    assert trainer.precision == "bf16-mixed"
    # AR+NAR steps leave some heads unused, so their ddp looks for unused parameters
    config = Config.from_dict({"train": {"strategy": "ddp", "accelerator": "cpu"}})
    kwargs = make_trainer(config, tmp_path, [], progress=False).strategy._ddp_kwargs
    assert kwargs.get("find_unused_parameters") is True


def test_max_minutes_becomes_the_trainers_wall_clock_limit(tmp_path):
    from datetime import timedelta

    from lightning.pytorch.callbacks import Timer

    from vall_e.training.train import make_trainer

    def timers(config):
        return [c for c in make_trainer(config, tmp_path, [], progress=False).callbacks
                if isinstance(c, Timer)]

    (timer,) = timers(Config.from_dict({"train": {"accelerator": "cpu", "max_minutes": 7.5}}))
    assert timer._duration == timedelta(minutes=7.5).total_seconds()  # Lightning's own stop
    assert timers(Config.from_dict({"train": {"accelerator": "cpu"}})) == []
    with pytest.raises(ConfigError, match="train.max_minutes must be positive"):
        Config.from_dict({"train": {"max_minutes": 0}})


def _grads(model, loss_fn):
    model.zero_grad()
    torch.manual_seed(0)  # the same dropout masks (checkpointing replays the RNG state)
    loss = loss_fn()
    loss.backward()
    return loss.detach(), {n: p.grad.clone() for n, p in model.named_parameters()
                           if p.grad is not None}


def test_gradient_checkpointing_gives_the_same_loss_and_gradients():
    from tests.training.test_llm_training import tiny_model
    from vall_e.models.ar_nar import ARNARModel

    torch.manual_seed(0)
    config = Config.from_dict({"model": {"d_model": 16, "n_layers": 2, "n_heads": 2,
                                         "dropout": 0.0}})
    model = ARNARModel(config.model, 10, 2, 16).train()
    text, prompt = [torch.tensor([1, 2, 3])], [torch.randint(0, 16, (2, 4))]
    codes = [torch.randint(0, 16, (2, 6))]
    run = lambda: model.ar_loss(text, prompt, codes)[0]  # noqa: E731
    plain = _grads(model, run)
    model.set_gradient_checkpointing(True)
    checkpointed = _grads(model, run)
    torch.testing.assert_close(checkpointed[0], plain[0])
    for name, grad in plain[1].items():
        torch.testing.assert_close(checkpointed[1][name], grad)

    llm = tiny_model().train()
    ids = torch.tensor([[1, 2, 4, 8, 5, 6, 13, 14, 7]])
    mask, speech = torch.ones_like(ids), torch.tensor([[False] * 6 + [True] * 3])
    run = lambda: llm.loss(ids, mask, speech)[0]  # noqa: E731
    plain = _grads(llm, run)
    llm.set_gradient_checkpointing(True)
    assert llm.lm.is_gradient_checkpointing
    checkpointed = _grads(llm, run)
    torch.testing.assert_close(checkpointed[0], plain[0])


def _ranks(out, tag):
    weights = [load_file(str(out / f"{tag}-rank{r}.safetensors")) for r in (0, 1)]
    infos = [json.loads((out / f"{tag}-rank{r}.json").read_text()) for r in (0, 1)]
    return weights, infos


@pytest.mark.slow
def test_ddp_on_two_cpu_processes_keeps_ranks_identical_and_resumes(tiny_run, tmp_path):
    run_dir, out = tmp_path / "run", tmp_path / "ranks"
    config = write_tiny_config(tmp_path, _codec(tiny_run), run_dir, max_steps=2,
                               strategy="ddp", devices=2, accelerator="cpu", batch_size=2,
                               checkpoint_every_n_steps=2, val_every_n_steps=2)
    raw = yaml.safe_load(config.read_text())
    raw["data"]["path"] = str(tiny_run.data)
    config.write_text(yaml.safe_dump(raw))
    run_module("tests.training.ddp_worker", str(config), str(out), "first", timeout=300)
    weights, infos = _ranks(out, "first")
    assert [i["world"] for i in infos] == [2, 2] and [i["end"] for i in infos] == [2, 2]
    assert infos[0]["strategy"] == "DDPStrategy"
    assert weights[0].keys() == weights[1].keys()
    for name in weights[0]:
        assert torch.equal(weights[0][name], weights[1][name]), name
    assert (run_dir / "lightning" / "last.ckpt").is_file() and (run_dir / "latest").is_dir()

    raw["train"]["max_steps"] = 4
    config.write_text(yaml.safe_dump(raw))
    run_module("tests.training.ddp_worker", str(config), str(out), "resumed", "--resume",
               timeout=300)
    resumed, infos = _ranks(out, "resumed")
    assert [(i["start"], i["end"]) for i in infos] == [(2, 4), (2, 4)]
    for name in resumed[0]:
        assert torch.equal(resumed[0][name], resumed[1][name]), name
    assert any(not torch.equal(resumed[0][n], weights[0][n]) for n in weights[0])


def _codec(tiny_run):
    return yaml.safe_load(tiny_run.config_path.read_text())["codec"]["path"]

