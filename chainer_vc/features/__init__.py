"""What the Generator sees, and how it becomes sound again.

The seed's |FFT| spectrogram (:mod:`.spectrogram`, back to a waveform by :mod:`.griffin_lim`),
the WORLD vocoder's envelopes (:mod:`.world`), the one seam both enter through
(:mod:`.kinds`: encode, decode, the training dataset), how recordings are padded into frames
(:mod:`.framing`), the training examples each kind cuts (:mod:`.dataset`) and how an
envelope moves over an utterance (:mod:`.dynamics`).
"""
