import soundfile

from chainer_vc.conversion import demo


def test_demo_converts_each_picked_utterance_to_every_other_speaker(tiny_run, tmp_path, capsys):
    manifest = tiny_run.parent / 'corpus' / 'manifest.csv'
    out = tmp_path / 'converted'
    assert demo.main(['--model', str(tiny_run), '--manifest', str(manifest), '--out', str(out),
                      '--per-speaker', '1']) == 0
    written = sorted(out.glob('*.wav'))
    assert len(written) == 3 * 2  # 3 speakers, one utterance each, to each of the 2 others
    assert {p.name.split('_to_')[1] for p in written} == {'alice.wav', 'bob.wav', 'carol.wav'}
    assert all(not p.name.startswith(p.name.split('_to_')[1][:-4]) for p in written)
    info = soundfile.info(str(written[0]))
    assert info.samplerate == 16000 and info.channels == 1 and info.duration > 1.9
    assert f'6 converted utterances in {out}' in capsys.readouterr().out


def test_demo_with_a_manifest_of_unknown_speakers_is_exit_2(tiny_run, tmp_path, capsys):
    manifest = tmp_path / 'm.csv'
    source = next((tiny_run.parent / 'corpus').rglob('*.wav'))
    manifest.write_text(f'path,speaker\n{source},zed\n')
    assert demo.main(['--model', str(tiny_run), '--manifest', str(manifest)]) == 2
    assert "speaker='zed' is not a known class" in capsys.readouterr().err


def test_demo_takes_the_models_held_out_utterances(tiny_run, tmp_path):
    from chainer_vc.corpus import read_manifest
    from chainer_vc.corpus.split import corpus_root, save_heldout
    manifest = tiny_run.parent / 'corpus' / 'manifest.csv'
    corpus = read_manifest(manifest)
    last = {u.labels['speaker']: u for u in corpus.utterances}  # each speaker's last file
    model = tmp_path / 'model'
    model.mkdir()
    for path in tiny_run.iterdir():
        if path.is_file():
            (model / path.name).write_bytes(path.read_bytes())
    save_heldout(model, last.values(), corpus_root(corpus.utterances))
    picked = demo.pick_utterances(corpus, 1, frozenset(
        line.split(',')[0] for line in (model / 'heldout.csv').read_text().splitlines()[1:]))
    assert sorted(u.path for u in picked) == sorted(u.path for u in last.values())
