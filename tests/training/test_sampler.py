"""Length-bucketed batches: every item once per epoch, little padding, reproducible order."""
import random
from types import SimpleNamespace

import numpy as np
import pytest

from vall_e.config import Config
from vall_e.errors import ConfigError
from vall_e.training.sampler import LengthBucketBatchSampler, utterance_lengths
from vall_e.training.train import make_loaders

LENGTHS = [random.Random(i).randint(50, 800) for i in range(500)]


def padded_fraction(batches, lengths) -> float:
    used = sum(lengths[i] for b in batches for i in b)
    return 1 - used / sum(len(b) * max(lengths[i] for i in b) for b in batches)


def test_every_item_once_per_epoch():
    sampler = LengthBucketBatchSampler(LENGTHS, batch_size=16, seed=0, pool_batches=8)
    batches = list(sampler)
    assert sorted(i for b in batches for i in b) == list(range(len(LENGTHS)))
    assert all(1 <= len(b) <= 16 for b in batches) and len(batches) == len(sampler)


def test_buckets_waste_far_less_than_random_batches():
    sampler = LengthBucketBatchSampler(LENGTHS, batch_size=16, seed=0, pool_batches=8)
    order = list(range(len(LENGTHS)))
    random.Random(0).shuffle(order)
    shuffled = [order[i:i + 16] for i in range(0, len(order), 16)]
    assert padded_fraction(list(sampler), LENGTHS) < 0.1 < 0.3 < padded_fraction(shuffled, LENGTHS)


def test_order_is_reproducible_per_epoch_and_changes_between_epochs():
    a = LengthBucketBatchSampler(LENGTHS, 16, seed=3)
    b = LengthBucketBatchSampler(LENGTHS, 16, seed=3)
    assert list(a) == list(b)
    first = list(a)
    a.set_epoch(1)
    assert list(a) != first
    # batch lengths are not walked from short to long: the batches are shuffled
    means = [np.mean([LENGTHS[i] for i in batch]) for batch in first]
    assert means != sorted(means)


def test_drop_last_keeps_only_full_batches():
    sampler = LengthBucketBatchSampler(LENGTHS[:100], 16, seed=0, pool_batches=2, drop_last=True)
    assert all(len(b) == 16 for b in sampler)


def test_make_loaders_uses_buckets_on_one_device_only():
    utts = [SimpleNamespace(codes=np.zeros((2, n)), phonemes=["a"] * 3) for n in LENGTHS[:40]]

    class Items(list):
        utterances = utts

    items = Items(range(40))
    config = Config.from_dict({"data": {"bucket_by_length": True}, "train": {"batch_size": 8}})
    train_loader, _ = make_loaders(config, items, items, collate=lambda xs: xs)
    assert isinstance(train_loader.batch_sampler, LengthBucketBatchSampler)
    assert utterance_lengths(items) == [n + 3 for n in LENGTHS[:40]]
    batches = list(train_loader)
    assert sorted(i for b in batches for i in b) == list(range(40))
    config.train.devices = 2
    with pytest.raises(ConfigError, match="one device"):
        make_loaders(config, items, items, collate=lambda xs: xs)


def test_weights_draw_items_by_weight_each_epoch():
    weights = [3.0 if i < 50 else 1.0 for i in range(200)]
    weights[199] = 0.5
    sampler = LengthBucketBatchSampler(LENGTHS[:200], 16, seed=0, weights=weights)
    counts = [0] * 200
    halves = 0
    for epoch in range(8):
        sampler.set_epoch(epoch)
        drawn = [i for b in sampler for i in b]
        assert len(drawn) == sum(int(w) for w in weights) + (199 in drawn)
        for i in drawn:
            counts[i] += 1
        halves += 199 in drawn
    assert all(c == 24 for c in counts[:50]) and all(c == 8 for c in counts[50:199])
    assert 0 < halves < 8  # a fractional weight is a fresh draw every epoch
    with pytest.raises(ValueError, match="positive"):
        LengthBucketBatchSampler(LENGTHS[:3], 2, weights=[1, 0, 1])


def test_speaker_weights_reach_the_sampler_and_name_real_speakers():
    utts = [SimpleNamespace(codes=np.zeros((2, n)), phonemes=["a"] * 3, speaker=f"s{i % 4}")
            for i, n in enumerate(LENGTHS[:40])]

    class Items(list):
        utterances = utts

    items = Items(range(40))
    config = Config.from_dict({"data": {"bucket_by_length": True, "speaker_weights": {"s0": 2}},
                               "train": {"batch_size": 5}})  # 50 items: no batch dropped
    train_loader, _ = make_loaders(config, items, items, collate=lambda xs: xs)
    drawn = [i for b in train_loader for i in b]
    assert sorted(drawn) == sorted(list(range(40)) + [i for i in range(40) if i % 4 == 0])
    config.data.speaker_weights = {"nobody": 2}
    with pytest.raises(ConfigError, match="lacks: nobody"):
        make_loaders(config, items, items, collate=lambda xs: xs)


@pytest.mark.parametrize("data, message", [
    ({"bucket_by_length": True, "speaker_weights": {"a": 0}}, "positive number"),
    ({"bucket_by_length": True, "speaker_weights": {"a": "x"}}, "positive number"),
    ({"speaker_weights": {"a": 2}}, "bucket_by_length"),
])
def test_speaker_weights_config_errors(data, message):
    with pytest.raises(ConfigError, match=message):
        Config.from_dict({"data": data})
