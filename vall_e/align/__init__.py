"""A learned phoneme aligner for speech that no teacher timed (a user's own recordings).

``Aligner`` (RAD-TTS's "one TTS alignment" recipe, written small): a text encoder and an audio
encoder over codec codes meet in a soft attention trained with the forward-sum (CTC) loss;
monotonic alignment search (MAS) turns that attention into hard durations. Trained here on the
teacher corpus, whose exact durations then measure it (``evaluate``: mean boundary error in ms).
"""
from vall_e.align.model import Aligner, AlignerConfig, load_aligner, save_aligner

__all__ = ["Aligner", "AlignerConfig", "load_aligner", "save_aligner"]
