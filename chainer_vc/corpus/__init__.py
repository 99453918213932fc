"""Corpora: the manifest every tool trains from, and readers for common corpus layouts.

The demo corpus lives in :mod:`chainer_vc.corpus.fillets` (not imported here, so that
``python -m chainer_vc.corpus.fillets`` runs it cleanly).
"""
from chainer_vc.corpus.manifest import Corpus, Utterance, read_manifest, write_manifest
from chainer_vc.corpus.readers import READERS, from_commonvoice, from_folders, from_librispeech, from_vctk

__all__ = ['Corpus', 'Utterance', 'read_manifest', 'write_manifest', 'READERS',
           'from_vctk', 'from_librispeech', 'from_commonvoice', 'from_folders']
