"""Speaker fine-tuning: LoRA adapters (peft; unsloth on a GPU), full fine-tunes and speaker
embedding offsets, for both model families. ``python -m vall_e.finetune --yaml RECIPE``;
recipes live in ``recipes/finetune/``. Nothing heavy is imported here."""
