import soundfile

from chainer_vc import demo


def test_demo_converts_each_picked_utterance_to_every_speaker(tiny_run, tmp_path, capsys):
    manifest = tiny_run.parent / 'corpus' / 'manifest.csv'
    out = tmp_path / 'converted'
    assert demo.main(['--model', str(tiny_run), '--manifest', str(manifest), '--out', str(out),
                      '--per-speaker', '1']) == 0
    written = sorted(out.glob('*.wav'))
    assert len(written) == 3 * 3  # 3 speakers, one utterance each, to each of 3 speakers
    assert {p.name.split('_to_')[1] for p in written} == {'alice.wav', 'bob.wav', 'carol.wav'}
    info = soundfile.info(str(written[0]))
    assert info.samplerate == 16000 and info.channels == 1 and info.duration > 1.9
    assert f'9 converted utterances in {out}' in capsys.readouterr().out


def test_demo_with_a_manifest_of_unknown_speakers_is_exit_2(tiny_run, tmp_path, capsys):
    manifest = tmp_path / 'm.csv'
    source = next((tiny_run.parent / 'corpus').rglob('*.wav'))
    manifest.write_text(f'path,speaker\n{source},zed\n')
    assert demo.main(['--model', str(tiny_run), '--manifest', str(manifest)]) == 2
    assert "speaker='zed' is not a known class" in capsys.readouterr().err
