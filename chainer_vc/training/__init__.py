"""Training a StarGAN: the updater and its losses (:mod:`.updater`), the trainer's own
extensions (samples, the judge during training, the mean of G's weights), snapshots that
resume, and ChainerMN across processes (:mod:`.distributed`)."""
