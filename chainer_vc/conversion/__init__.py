"""Recordings through a trained model: the Converter (:mod:`.converter`), files and folders
(:mod:`.batch`), the signal-processing baseline that needs no training (:mod:`.baseline`),
exporting a run for others (:mod:`.export`) and the demo's conversions (:mod:`.demo`)."""
