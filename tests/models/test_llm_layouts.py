"""Token layouts: Orpheus ids exactly as Orpheus defines them, flat interleave, frame checks."""
import pytest
import torch

from vall_e.codecs.base import CodecInfo
from vall_e.errors import CodecMismatchError, TextError
from vall_e.models.llm_layouts import FlatLayout, FrameAssembler, OrpheusLayout
from vall_e.models.orpheus_random import byte_level_tokenizer
from vall_e.text.tokenizer import PhonemeTokenizer


@pytest.fixture(scope="module")
def orpheus():
    return OrpheusLayout(byte_level_tokenizer())


def snac_levels(frames: int, seed: int = 0):
    """SNAC's own three levels: L0 [T], L1 [2T], L2 [4T] codes in [0, 4096)."""
    g = torch.Generator().manual_seed(seed)
    return [torch.randint(0, 4096, (frames * n,), generator=g) for n in (1, 2, 4)]


def as_sublevels(l0, l1, l2):
    """Our SNAC codec's [7, T] order: L0, L1[2i], L1[2i+1], L2[4i..4i+3]."""
    return torch.stack([l0, l1[0::2], l1[1::2], l2[0::4], l2[1::4], l2[2::4], l2[3::4]])


def test_orpheus_ids_follow_the_published_formula(orpheus):
    l0, l1, l2 = snac_levels(3)
    tokens = orpheus.codes_to_tokens(as_sublevels(l0, l1, l2)).tolist()
    expected = []
    for i in range(3):  # Orpheus: [L0[i], L1[2i], L2[4i], L2[4i+1], L1[2i+1], L2[4i+2], L2[4i+3]]
        frame = [l0[i], l1[2 * i], l2[4 * i], l2[4 * i + 1], l1[2 * i + 1], l2[4 * i + 2], l2[4 * i + 3]]
        expected += [128266 + slot * 4096 + int(code) for slot, code in enumerate(frame)]
    assert tokens == expected


def test_orpheus_round_trip_is_exact(orpheus):
    codes = as_sublevels(*snac_levels(20, seed=3))
    decoded = orpheus.tokens_to_codes(orpheus.codes_to_tokens(codes))
    assert decoded.dropped == 0
    assert torch.equal(decoded.codes, codes)


def test_orpheus_round_trip_of_real_snac_codes(orpheus, snac_dir):
    from vall_e.codecs import get_codec
    from vall_e.config import CodecConfig

    codec = get_codec(CodecConfig(name="snac", path=str(snac_dir), n_levels=7))
    t = torch.arange(24000) / 24000
    codes = codec.encode(0.3 * torch.sin(2 * torch.pi * 220 * t))[0]
    assert torch.equal(orpheus.tokens_to_codes(orpheus.codes_to_tokens(codes)).codes, codes)


def test_wrong_slot_tokens_are_dropped_and_counted(orpheus):
    codes = as_sublevels(*snac_levels(4, seed=1))
    tokens = orpheus.codes_to_tokens(codes).tolist()
    # a slot-3 id where slot 2 is due, a text id, and half a frame at the end
    corrupted = tokens[:9] + [128266 + 3 * 4096 + 5, 1234] + tokens[9:] + tokens[:3]
    decoded = orpheus.tokens_to_codes(corrupted)
    assert decoded.dropped == 2 + 3
    assert torch.equal(decoded.codes, codes)


def test_frame_assembler_matches_batch_decoding(orpheus):
    codes = as_sublevels(*snac_levels(5, seed=2))
    assembler = FrameAssembler(orpheus)
    frames = [f for f in map(assembler.feed, orpheus.codes_to_tokens(codes).tolist()) if f is not None]
    assert torch.equal(torch.stack(frames, 1), codes)


def test_orpheus_prompt_layout(orpheus):
    ids = orpheus.prompt_ids(["hi <laugh>"], voice="tara")
    text_ids = byte_level_tokenizer()("tara: hi <laugh>")["input_ids"]
    assert ids == [128259, *text_ids, 128009, 128260, 128261, 128257]


def test_orpheus_cloning_needs_the_transcript(orpheus):
    codes = as_sublevels(*snac_levels(2))
    with pytest.raises(TextError, match="transcript"):
        orpheus.prompt_ids(["hi"], reference_codes=codes)
    ids = orpheus.prompt_ids(["hi"], reference_codes=codes, reference_units=["hello"])
    speech = orpheus.codes_to_tokens(codes).tolist()
    start = ids.index(128257) + 1
    assert ids[start:start + len(speech)] == speech
    assert ids[start + len(speech):start + len(speech) + 2] == [128258, 128262]


def test_orpheus_refuses_other_codecs(orpheus):
    with pytest.raises(CodecMismatchError):
        orpheus.check_codec(CodecInfo("encodec", 24000, 75.0, 8, 1024))
    with pytest.raises(CodecMismatchError):
        orpheus.check_codec(CodecInfo("mycodec", 24000, 24000 / 2048, 7, 4096))


@pytest.fixture
def flat():
    vocab = PhonemeTokenizer.from_phoneme_lists([["h", "a", " ", "i"]])
    return FlatLayout(vocab, "phonemes", n_levels=3, codebook_size=16)


def test_flat_round_trip_and_ranges(flat):
    codes = torch.randint(0, 16, (3, 7))
    tokens = flat.codes_to_tokens(codes)
    assert int(tokens.min()) >= flat.audio_offset and int(tokens.max()) < flat.vocab_size
    assert torch.equal(flat.tokens_to_codes(tokens).codes, codes)
    with pytest.raises(CodecMismatchError):
        flat.codes_to_tokens(torch.randint(0, 16, (2, 7)))
    with pytest.raises(CodecMismatchError):
        flat.codes_to_tokens(torch.full((3, 2), 16))


def test_flat_training_sequence_structure(flat):
    prompt, codes = torch.randint(0, 16, (3, 2)), torch.randint(0, 16, (3, 4))
    ids, prefix = flat.training_ids(["h", "a", "i"], "spk", prompt, codes)
    assert ids[:2] == [flat.BOS, flat.PROMPT_START]
    assert ids[prefix - 1] == flat.SPEECH_START and ids[-1] == flat.SPEECH_END
    assert ids[prefix:-1] == flat.codes_to_tokens(codes).tolist()
    assert len(ids) == 2 + 6 + 2 + 3 + 2 + 12 + 1


def test_step_mask_allows_only_the_next_slot(flat):
    for step in range(6):
        mask = flat.step_mask(step, flat.vocab_size, "cpu")
        slot = step % 3
        allowed = mask.nonzero().flatten().tolist()
        expected = list(range(flat.audio_offset + 16 * slot, flat.audio_offset + 16 * (slot + 1)))
        if slot == 0:
            expected = [flat.SPEECH_END, *expected]
        assert allowed == expected


def test_flat_needs_a_reference_and_no_voice(flat):
    with pytest.raises(TextError):
        flat.prompt_ids(["h", "i"])
    with pytest.raises(TextError):
        flat.prompt_ids(["h", "i"], voice="tara")
