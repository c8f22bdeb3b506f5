"""Speaker definitions: Kokoro's base voices, seeded convex blends of them, and Piper's joe.

A Kokoro voice is a (510, 1, 256) style array; a convex combination ``sum_i w_i * voice_i``
(``w_i >= 0``, ``sum w_i = 1``) is a voice too, with a timbre between its parents. Blends are
drawn uniformly from the simplex (Dirichlet(1, ..., 1)), except that every other blend (by
default) is a "low" one: jm_kumo, the only male base voice, gets a weight from
``low_blend_kumo`` and the four female voices share the rest uniformly. Measured median f0 on
one sentence: jm_kumo 97 Hz, the female voices 238-312 Hz, a jm_kumo weight of 0.2 / 0.5 / 0.8
gives 215 / 168 / 124 Hz, so without low blends almost every blend would be a high voice.
A blend is kept only if no weight exceeds ``blend_max_weight`` (else it is just a base voice
again) and its weight vector is at least ``blend_min_distance`` (L1) from every earlier blend
(else two "speakers" sound alike).
Held-out blends are drawn after the training blends from the same stream, so adding training
blends to a recipe changes which held-out voices exist; the seed pins both. A corpus extension
adds voices without that side effect (``add_blends``): its blends come from a stream of its own
and keep their distance from every blend of the base, held-out ones included.

Each speaker also has a speaking rate (Kokoro ``speed``), drawn from ``speed_range``: rate is
part of how a person sounds, but it is never counted as a new speaker on its own.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from vall_e.data.corpus.recipe import KOKORO_VOICES, SpeakerConfig
from vall_e.errors import ConfigError

_MAX_BLEND_DRAWS = 20_000  # the default recipe needs ~100; this only bounds a failure


@dataclass(frozen=True)
class SpeakerSpec:
    """One voice of the corpus. ``weights`` maps Kokoro base voices to blend weights."""

    name: str
    teacher: str  # "kokoro" or "piper"
    heldout: bool = False
    weights: dict = field(default_factory=dict)
    speed: float = 1.0  # Kokoro rate
    length_scale: float = 1.0  # Piper settings
    noise_scale: float = 0.0
    noise_w_scale: float = 0.0

    def to_dict(self) -> dict:
        out = {"name": self.name, "teacher": self.teacher, "heldout": self.heldout}
        if self.teacher == "kokoro":
            out.update(weights=dict(self.weights), speed=self.speed)
        else:
            out.update(length_scale=self.length_scale, noise_scale=self.noise_scale,
                       noise_w_scale=self.noise_w_scale)
        return out


def _is_low(index: int, share: float) -> bool:
    """Spread low blends evenly over the blend indices (share 0.5: every second one)."""
    return int((index + 1) * share) > int(index * share)


def _draw_one(rng: np.random.Generator, low: bool, config: SpeakerConfig) -> np.ndarray:
    if not low:
        return rng.dirichlet(np.ones(len(KOKORO_VOICES)))
    kumo = rng.uniform(*config.low_blend_kumo)
    rest = (1.0 - kumo) * rng.dirichlet(np.ones(len(KOKORO_VOICES) - 1))
    return np.array([*rest, kumo])  # jm_kumo is the last of KOKORO_VOICES


def _draw_blends(first: int, count: int, rng: np.random.Generator, config: SpeakerConfig,
                 earlier: list[np.ndarray], distance: float | None = None,
                 avoid: tuple[np.ndarray, ...] = ()) -> list[np.ndarray]:
    """``count`` blends at least ``distance`` (default ``blend_min_distance``) from ``earlier``
    and from each other, and at least ``blend_min_distance`` from every blend of ``avoid``."""
    distance = config.blend_min_distance if distance is None else distance
    blends: list[np.ndarray] = []
    for _ in range(_MAX_BLEND_DRAWS):
        if len(blends) == count:
            return blends
        w = _draw_one(rng, _is_low(first + len(blends), config.low_blend_share), config)
        if w.max() > config.blend_max_weight:
            continue
        if any(np.abs(w - other).sum() < distance for other in earlier + blends):
            continue
        if any(np.abs(w - other).sum() < config.blend_min_distance for other in avoid):
            continue
        blends.append(w)
    raise ConfigError(
        f"could not draw {count} distinct blends with blend_max_weight={config.blend_max_weight} "
        f"and a distance of {distance} between blends; lower the distance or the count"
    )


def _blend_speaker(index: int, w: np.ndarray, heldout: bool, speed: float) -> SpeakerSpec:
    # Rounded so the plan file shows readable weights; renormalized so they still sum to 1.
    weights = np.round(w, 4)
    weights = weights / weights.sum()
    return SpeakerSpec(f"kokoro_blend_{index:02d}", "kokoro", heldout=heldout,
                       weights={v: round(float(x), 6) for v, x in zip(KOKORO_VOICES, weights)},
                       speed=speed)


def _vector(speaker: SpeakerSpec) -> np.ndarray:
    return np.array([speaker.weights.get(v, 0.0) for v in KOKORO_VOICES])


def add_blends(base: list[SpeakerSpec], count: int, config: SpeakerConfig, seed: int,
               distance: float) -> list[SpeakerSpec]:
    """``count`` new training blends for an extension of the corpus whose speakers are ``base``
    (all of them, held-out ones included), numbered after the base's blends. Each keeps
    ``blend_min_distance`` from every held-out blend, so the base's unseen voices stay unseen,
    and ``distance`` (the base's blends fill the simplex at ``blend_min_distance``, so new ones
    sit closer) from the base's training blends and from each other."""
    rng = np.random.default_rng([seed, 2])  # the extension's own stream: the base is unchanged
    blends = [s for s in base if s.name.startswith("kokoro_blend_")]
    training = [_vector(s) for s in blends if not s.heldout]
    heldout = tuple(_vector(s) for s in blends if s.heldout)
    low, high = config.speed_range
    drawn = _draw_blends(len(blends), count, rng, config, training, distance, avoid=heldout)
    return [_blend_speaker(len(blends) + k, w, False, round(float(rng.uniform(low, high)), 3))
            for k, w in enumerate(drawn)]


def make_speakers(config: SpeakerConfig, seed: int) -> list[SpeakerSpec]:
    """All speakers of the recipe, training ones first, in a stable order."""
    rng = np.random.default_rng([seed, 1])  # a stream of its own: sentences use other seeds
    low, high = config.speed_range

    def speed() -> float:
        return round(float(rng.uniform(low, high)), 3)

    speakers = [SpeakerSpec(f"kokoro_{voice}", "kokoro", weights={voice: 1.0}, speed=speed())
                for voice in config.kokoro_bases]
    train = _draw_blends(0, config.train_blends, rng, config, [])
    heldout = _draw_blends(len(train), config.heldout_blends, rng, config, train)
    for index, w in enumerate(train + heldout):
        speakers.append(_blend_speaker(index, w, index >= len(train), speed()))
    if config.piper_joe:
        speakers.append(SpeakerSpec(
            "piper_joe", "piper", length_scale=config.piper_length_scale,
            noise_scale=config.piper_noise_scale, noise_w_scale=config.piper_noise_w_scale,
        ))
    # Training speakers first: the plan and splits.json list them in this order.
    return sorted(speakers, key=lambda s: s.heldout)
