"""The project's own codec: fixed log-mel features, residual k-means codes, a trained vocoder.

``features`` (analysis, frame stacking), ``rvq`` (codebooks and their fitting), ``vocoder``
(ConvNeXt + iSTFT decoder), ``codec`` (``MelCodec``, the ``AudioCodec`` backend and its
directory format); training lives in ``vall_e.codecs.train`` and ``vall_e.codecs.mel.training``.
"""
from vall_e.codecs.mel.codec import MelCodec, MelCodecSpec, load_mel_model, save_mel_model

__all__ = ["MelCodec", "MelCodecSpec", "load_mel_model", "save_mel_model"]
