import pytest
import torch

from vall_e.config import ModelConfig
from vall_e.inference.ar_nar_decode import generate_ar, generate_nar, generate_stt
from vall_e.models.ar_nar import ARNARModel
from vall_e.models.layers import KVCache
from vall_e.sampling import SamplingParams, TokenSampler

K, CODEBOOK, VOCAB = 3, 16, 12
GREEDY = TokenSampler(SamplingParams(ar_temp=0.0, nar_temp=0.0), "ar")


RATES = pytest.mark.parametrize("rate", [0.0, 3.3], ids=["running-positions", "aligned-positions"])


def tiny_model(seed=0, tasks=("tts", "stt"), rate=0.0):
    torch.manual_seed(seed)
    config = ModelConfig(d_model=32, n_layers=2, n_heads=2, ffn_mult=2.0, dropout=0.0, tasks=list(tasks),
                         text_position_rate=rate)
    return ARNARModel(config, VOCAB, K, CODEBOOK)


def batch(seed=1):
    g = torch.Generator().manual_seed(seed)
    text = [torch.randint(4, VOCAB, (n,), generator=g) for n in (6, 4)]
    prompts = [torch.randint(0, CODEBOOK, (K, n), generator=g) for n in (5, 3)]
    responses = [torch.randint(0, CODEBOOK, (K, n), generator=g) for n in (7, 9)]
    return text, prompts, responses


def test_losses_are_finite_and_have_gradients():
    model = tiny_model()
    text, prompts, responses = batch()
    total = model.ar_loss(text, prompts, responses)[0] + model.nar_loss(text, prompts, responses, [1, 2])[0]
    total = total + model.stt_loss(responses, text)[0]
    total.backward()
    assert torch.isfinite(total)
    assert model.heads[2].weight.grad is not None and model.stt_head.weight.grad is not None


def test_running_positions_count_every_token_of_the_sequence():
    positions = tiny_model().tts_positions(n_text=4, n_prompt=3, n_response=5)
    assert torch.equal(positions, torch.arange(14, dtype=torch.float32))


def test_aligned_positions_put_each_frame_next_to_the_text_it_reads():
    rate = 3.0
    positions = tiny_model(rate=rate).tts_positions(n_text=4, n_prompt=3, n_response=5)
    mode, text, prompt, response = positions[0], positions[1:5], positions[5:8], positions[8:]
    assert torch.equal(text, torch.tensor([-1.5, 1.5, 4.5, 7.5]))  # token k at (k - 0.5) * rate
    assert torch.equal(response, torch.arange(6, dtype=torch.float32))  # SEP, then frames 0..4
    # the prompt (another utterance) and the mode token come before everything the response reads
    assert torch.equal(prompt, torch.tensor([-9.0, -8.0, -7.0])) and mode == -10.0
    # the query predicting frame 4 (the input at position 4) is nearest to phoneme 2 (tokens: bos, p1, p2, ..)
    assert int((text - response[4]).abs().argmin()) == 2


def test_training_places_each_utterance_at_its_own_speaking_rate():
    model = tiny_model(rate=3.0)
    text_ids, prompt, response = torch.zeros(6, dtype=torch.long), torch.zeros(K, 2), torch.zeros(K, 8)
    positions = model.training_positions(text_ids, prompt, response)
    # 8 frames over 4 phonemes: 2 frames each, phoneme k centred at (k - 0.5) * 2
    assert model.speaking_rate(6, 8) == 2.0
    assert torch.equal(positions[1:7], torch.tensor([-1.0, 1.0, 3.0, 5.0, 7.0, 9.0]))
    assert torch.equal(positions[-9:], torch.arange(9, dtype=torch.float32))
    # a slower reading of the same text stretches the text's positions, not the response's
    slow = model.training_positions(text_ids, prompt, torch.zeros(K, 16))
    assert torch.equal(slow[1:7], 2 * positions[1:7])
    with pytest.raises(ValueError, match="rate must be > 0"):
        model.tts_positions(4, 2, 0, rate=0.0)


@RATES
def test_cached_decoding_matches_a_full_forward_pass(rate):
    model = tiny_model(rate=rate).eval()
    text, prompts, _ = batch()
    (tokens,), _, _ = generate_ar(model, text[:1], prompts[:1], GREEDY, max_steps=12)
    # recompute greedy choices with one uncached pass over the whole sequence, at the positions
    # training uses (ar_loss): decoding must see the sequence exactly as training did
    with torch.no_grad():
        seq = torch.cat([model.tts_prefix(0, text[0], prompts[0]), model.code_embeddings[0](tokens.clone())])[None]
        n = seq.shape[1]
        positions = model.tts_positions(len(text[0]), prompts[0].shape[1], tokens.numel())[None]
        hidden = model.hidden_states(seq, positions, torch.ones(1, n, dtype=torch.bool), causal=True)
    prefix_len = n - tokens.numel()
    full = model.level_logits(hidden[0, prefix_len - 1 : -1], 0).argmax(-1)
    assert torch.equal(full, tokens)


@RATES
def test_beam_search_and_refine_on_stop_decode_at_the_training_positions(rate):
    model = tiny_model(rate=rate).eval()
    text, prompts, _ = batch()
    (greedy,), _, _ = generate_ar(model, text[:1], prompts[:1], GREEDY, max_steps=12)
    assert greedy.numel() > 0
    beam = TokenSampler(SamplingParams(ar_temp=0.0, beam_width=2), "ar")
    (searched,), _, _ = generate_ar(model, text[:1], prompts[:1], beam, max_steps=12)
    assert searched.numel() <= 12
    refine = TokenSampler(SamplingParams(ar_temp=0.0, refine_on_stop=True), "ar")
    (refined,), _, _ = generate_ar(model, text[:1], prompts[:1], refine, max_steps=12)
    # greedy tokens re-derived from the full pass at the same positions do not change
    assert torch.equal(refined, greedy)


@RATES
def test_batched_ar_equals_one_by_one_under_greedy(rate):
    model = tiny_model(rate=rate).eval()
    text, prompts, _ = batch()
    together, _, _ = generate_ar(model, text, prompts, GREEDY, max_steps=15)
    for i in range(2):
        (alone,), _, _ = generate_ar(model, text[i : i + 1], prompts[i : i + 1], GREEDY, max_steps=15)
        assert torch.equal(alone, together[i])


def test_max_steps_always_ends_generation():
    model = tiny_model().eval()
    with torch.no_grad():  # make STOP impossible: the guard must end the loop
        model.heads[0].weight[model.stop_token] = 0
        model.heads[0].weight[0] = 5 * model.heads[0].weight[0].sign()
    text, prompts, _ = batch()
    (tokens,), (stopped,), _ = generate_ar(model, text[:1], prompts[:1], GREEDY, max_steps=7)
    assert tokens.numel() == 7 and stopped is False


def test_nar_fills_every_level_in_range():
    model = tiny_model().eval()
    text, prompts, responses = batch()
    codes = generate_nar(model, text, prompts, [r[0] for r in responses], GREEDY)
    for c, r in zip(codes, responses):
        assert c.shape == (K, r.shape[1]) and torch.equal(c[0], r[0])
        assert int(c.max()) < CODEBOOK and int(c.min()) >= 0


def test_stt_returns_phoneme_ids_without_specials():
    model = tiny_model().eval()
    _, _, responses = batch()
    (ids,) = generate_stt(model, responses[:1], bos_id=2, eos_id=3, sampler=GREEDY, max_steps=10)
    assert ids.numel() <= 10 and not bool((ids == 3).any())


def test_training_steps_reduce_the_loss():
    model = tiny_model()
    text, prompts, responses = batch()
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3)
    losses = []
    for _ in range(30):
        loss = model.ar_loss(text, prompts, responses)[0] + model.nar_loss(text, prompts, responses, [1, 2])[0]
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0]


def test_kv_cache_grows_and_truncates():
    cache = KVCache(1)
    layer = cache.layers[0]
    for _ in range(100):
        k, v = layer.append(torch.ones(1, 2, 1, 4), torch.ones(1, 2, 1, 4))
    assert k.shape[2] == 100 and layer.keys.shape[2] >= 100
    layer.truncate(10)
    assert layer.append(torch.zeros(1, 2, 1, 4), torch.zeros(1, 2, 1, 4))[0].shape[2] == 11


def test_attention_dropout_is_its_own_setting():
    # residual dropout must not leak into the attention weights (CPU's slow math path)
    model = ARNARModel(ModelConfig(d_model=32, n_layers=2, n_heads=2, dropout=0.2), 10, 2, 16)
    assert all(block.attn.dropout == 0.0 and block.drop.p == 0.2 for block in model.blocks)
    model = ARNARModel(ModelConfig(d_model=32, n_layers=2, n_heads=2, attention_dropout=0.3), 10, 2, 16)
    assert all(block.attn.dropout == 0.3 for block in model.blocks)


def test_ar_input_noise_replaces_a_share_of_the_inputs_in_training_only():
    model = tiny_model()
    model.config.ar_input_noise = 0.5
    codes = torch.randint(0, CODEBOOK, (4000,), generator=torch.Generator().manual_seed(3))
    model.train()
    torch.manual_seed(0)
    noisy = model._noisy_inputs(codes)
    changed = (noisy != codes).float().mean().item()
    # half replaced, of which 1/16 by chance the same code: ~0.47 differ
    assert 0.42 < changed < 0.52 and int(noisy.max()) < CODEBOOK
    model.eval()
    assert torch.equal(model._noisy_inputs(codes), codes)


def test_ar_self_inputs_feed_back_a_share_of_the_models_own_samples_in_training_only():
    model = tiny_model()
    model.config.ar_self_inputs = 0.5
    g = torch.Generator().manual_seed(4)
    text = [torch.randint(4, VOCAB, (6,), generator=g)]
    prompts = [torch.randint(0, CODEBOOK, (K, 5), generator=g)]
    responses = [torch.randint(0, CODEBOOK, (K, 3000), generator=g)]
    model.train()
    torch.manual_seed(0)
    (fed,) = model._self_conditioned_inputs(text, prompts, responses)
    changed = (fed != responses[0][0]).float().mean().item()
    # half replaced by samples from a near-uniform untrained head: ~15/16 of those differ
    assert 0.40 < changed < 0.52 and int(fed.max()) < CODEBOOK and fed.shape == responses[0][0].shape
    model.eval()
    (fed,) = model._self_conditioned_inputs(text, prompts, responses)
    assert torch.equal(fed, responses[0][0])


@pytest.mark.parametrize("setting", ["ar_input_noise", "ar_self_inputs"])
def test_corrupted_ar_inputs_change_the_training_loss_but_not_the_evaluation_loss(setting):
    text, prompts, responses = batch()
    clean, corrupted = tiny_model(), tiny_model()
    setattr(corrupted.config, setting, 0.5)
    clean.train(), corrupted.train()
    torch.manual_seed(0)
    loss_clean, _ = clean.ar_loss(text, prompts, responses)
    torch.manual_seed(0)
    loss_corrupted, _ = corrupted.ar_loss(text, prompts, responses)
    assert not torch.isclose(loss_clean, loss_corrupted)
    loss_corrupted.backward()  # ar_self_inputs' extra pass is no-grad; the trained pass backpropagates
    assert all(p.grad is not None for p in corrupted.heads[0].parameters())
    clean.eval(), corrupted.eval()  # same weights, clean inputs at evaluation: the same loss
    assert torch.isclose(clean.ar_loss(text, prompts, responses)[0], corrupted.ar_loss(text, prompts, responses)[0])
