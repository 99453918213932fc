"""The seed's StarGAN networks (Generator and Discriminator as Chains, :mod:`.models`), the
named presets (:mod:`.presets`), faster exact kernels for CPU and CuPy, and the run
directory that stores a model (:mod:`.run_directory`: ``model.json`` and weights)."""
