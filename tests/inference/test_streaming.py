"""StreamingDecoder: audio chunks decoded from a growing code sequence add up to one pass."""
import pytest
import torch

from vall_e.codecs import get_codec
from vall_e.config import CodecConfig
from vall_e.inference.streaming import StreamingDecoder


@pytest.fixture(scope="module")
def codec(tiny_codec_dir):
    return get_codec(CodecConfig(name="encodec", path=str(tiny_codec_dir), n_levels=2))


def stream(codec, codes, **kw):
    decoder = StreamingDecoder(codec, **kw)
    chunks = [decoder.push(codes[:, t:t + 1]) for t in range(codes.shape[1])]
    chunks.append(decoder.flush())
    return [c for c in chunks if c is not None]


@pytest.mark.parametrize("context", [None, 24])
def test_chunks_concatenate_to_the_one_pass_decode(codec, context):
    codes = torch.randint(0, 1024, (2, 90), generator=torch.Generator().manual_seed(0))
    full = codec.decode(codes[None])[0]
    chunks = stream(codec, codes, chunk_frames=10, context_frames=context)
    assert len(chunks) == 9
    assert all(c.numel() == 10 * codec.hop_length for c in chunks)
    assert torch.allclose(torch.cat(chunks), full, atol=1e-5)


def test_lookahead_holds_frames_back_until_flush(codec):
    codes = torch.randint(0, 1024, (2, 12))
    decoder = StreamingDecoder(codec, chunk_frames=4, lookahead_frames=2)
    emitted = [decoder.push(codes[:, t:t + 1]) for t in range(12)]
    first = next(i for i, c in enumerate(emitted) if c is not None)
    assert first == 5  # 6 frames received, 4 emitted, 2 held back
    assert [i for i, c in enumerate(emitted) if c is not None] == [5, 9]
    assert decoder.flush().numel() == 4 * codec.hop_length  # frames 8..11: the held-back rest
    assert decoder.flush() is None


def test_bad_settings(codec):
    with pytest.raises(ValueError, match="chunk_frames"):
        StreamingDecoder(codec, chunk_frames=0)
    with pytest.raises(ValueError, match="context_frames"):
        StreamingDecoder(codec, chunk_frames=1, context_frames=-1)
