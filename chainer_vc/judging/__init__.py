"""Does it convert? A speaker encoder (GE2E, :mod:`.speaker_encoder`, read from its PyTorch
checkpoint by :mod:`.torch_checkpoint`), the judges built on it (:mod:`.judge`), what was
said (:mod:`.content`), which utterances are judged (:mod:`.selection`), the scores
(:mod:`.scoring`), a whole evaluation (:mod:`.evaluation`) and its report (:mod:`.report`)."""
