"""Writing an evaluation: report.json, README.md (the tables), plots, and a listening page.

    results/evaluation/<run>/
        report.json         everything measured
        README.md           the command, then the tables
        confusion.png       judge 1's nearest-centroid speaker: real (vocoded) and converted
        similarity.png      cosine similarity to the target / source centroid, and real trials
        index.html          source / converted / real target: players and spectrograms
        audio/, spectrograms/
"""
from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Optional, Sequence

import matplotlib
import numpy as np

from chainer_vc.common import audio
from chainer_vc.features import spectrogram
from chainer_vc.judging.evaluation import ROW_TITLES, ROWS, Evaluation
from chainer_vc.judging.scoring import worse_direction
from chainer_vc.common.files import write_text_atomic

matplotlib.use('Agg')
import matplotlib.pyplot as plt  # noqa: E402  (after choosing the backend)

EXAMPLE_ROLES = ('source', 'baseline', 'converted', 'target')
ROLE_TITLES = {'source': 'source', 'baseline': 'baseline (no training)', 'converted': 'converted',
               'target': 'real target speaker'}


def write(out: Path, evaluation: Evaluation, command: str,
          config: Optional[spectrogram.SpectrogramConfig] = None) -> Path:
    """Write everything into ``out`` (created); returns the README's path."""
    config = config or spectrogram.SpectrogramConfig()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    report = dict(evaluation.report, command=command)
    write_text_atomic(out / 'report.json', json.dumps(report, indent=1) + '\n')
    plot_confusion(report, out / 'confusion.png')
    plot_similarity(report, out / 'similarity.png')
    examples = write_examples(out, evaluation.examples, config)
    write_text_atomic(out / 'index.html', listening_page(report, examples))
    readme = out / 'README.md'
    write_text_atomic(readme, markdown(report))
    return readme


# ----------------------------------------------------------------------------- tables

def _percent(value) -> str:
    return '-' if value is None else f'{100 * value:.1f} %'


def _number(value) -> str:
    return '-' if value is None else f'{value:.3f}'


def table_rows(report: dict) -> tuple:
    """(header, rows) of the main table: one row per ROWS entry."""
    groups = list(report['judge2']['ceiling'])
    threshold = report['judge1']['threshold']
    header = (['', 'cos to target', 'cos to source', 'margin', 'target accepted',
               'worse direction', f'verified (cos >= {threshold:.3f})']
              + [f'judge 2: {g} (ceiling {_percent(report["judge2"]["ceiling"][g])})'
                 for g in groups])
    rows = []
    for name in (name for name in ROWS if name in report['rows']):
        row = report['rows'][name]
        rows.append([ROW_TITLES[name], _number(row['similarity_target']),
                     _number(row['similarity_source']), _number(row['similarity_margin']),
                     _percent(row['target_accepted']), _percent(worse_direction(row)),
                     _percent(row['verified'])]
                    + [_percent(row['judge2'].get(g)) for g in groups])
    return header, rows


PAIR_COLUMNS = ('target_accepted', 'verified', 'similarity_margin')
PAIR_COLUMN_TITLES = ('accepted', 'verified', 'margin')
# The rows of the per-direction table, and which of their scores it shows.
DIRECTION_ROWS = (('source', ('similarity_margin',)), ('f0_only', ('similarity_margin',)),
                  ('shift', ('similarity_margin',)), ('spread', ('similarity_margin',)),
                  ('baseline', PAIR_COLUMNS), ('converted', PAIR_COLUMNS),
                  ('target_vocoded', ('similarity_margin',)))
DIRECTION_ROW_TITLES = {'source': 'floor', 'f0_only': 'F0 only', 'shift': 'mean shift',
                        'spread': 'mean and spread',
                        'baseline': 'baseline',
                        'converted': 'model', 'target_vocoded': 'ceiling'}


def _score(scores: Optional[dict], key: str) -> str:
    if scores is None:
        return '-'
    return _number(scores[key]) if key == 'similarity_margin' else _percent(scores[key])


def pairing_rows(report: dict) -> tuple:
    """(header, rows): every row's scores over same-sex and over cross-sex pairs."""
    kinds = sorted({kind for row in report['rows'].values()
                    for kind in row.get('pairings', {})}, reverse=True)
    if not kinds:
        return (), []
    header = [''] + [f'{kind} ({report["rows"]["converted"]["pairings"][kind]["n"]}): {title}'
                     for kind in kinds for title in PAIR_COLUMN_TITLES]
    rows = [[ROW_TITLES[name]] + [_score(report['rows'][name]['pairings'].get(kind), key)
                                  for kind in kinds for key in PAIR_COLUMNS]
            for name in ROWS if name in report['rows']]
    return header, rows


def direction_rows(report: dict) -> tuple:
    """(header, rows): one row per direction (source -> target speaker) with the floor's,
    the signal processing's, the model's and the ceiling's scores."""
    shown = [(name, keys) for name, keys in DIRECTION_ROWS if name in report['rows']]
    header = ['direction', 'n'] + [
        f'{DIRECTION_ROW_TITLES[name]}: {title}' for name, keys in shown
        for key, title in zip(PAIR_COLUMNS, PAIR_COLUMN_TITLES) if key in keys]
    converted = report['rows']['converted']['directions']
    rows = [[direction, str(scores['n'])] + [
        _score(report['rows'][name]['directions'].get(direction), key)
        for name, keys in shown for key in PAIR_COLUMNS if key in keys]
        for direction, scores in converted.items()]
    return header, rows


def _markdown_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    lines = ['| ' + ' | '.join(header) + ' |', '|' + '---|' * len(header)]
    lines += ['| ' + ' | '.join(cell.replace('|', '\\|') for cell in row) + ' |'
              for row in rows]
    return '\n'.join(lines)


def calibration_rows(report: dict) -> list:
    judge1 = report['judge1']
    rows = [('speakers', f'{len(report["speakers"])} (chance {_percent(judge1["chance"])})'),
            ('judge 1: speaker identified, real speech (the sources)',
             _percent(judge1['identification']['real'])),
            ('judge 1: speaker identified, real speech through the vocoder path',
             _percent(judge1['identification']['real_vocoded'])),
            ('judge 1: equal error rate (vocoded real speech vs centroids)',
             _percent(judge1['equal_error_rate'])),
            ('judge 1: verification threshold at the equal error rate',
             _number(judge1['threshold']))]
    rows += [(f'judge 2: {group} accuracy on real speech it did not train on (its ceiling)',
              _percent(v))
             for group, v in report['judge2']['ceiling'].items()]
    return rows


def content_rows(report: dict) -> list:
    content = report.get('content')
    if not content:
        return []
    return [('cycle log-spectral distance, source -> target -> source (dB)',
             _number(content['cycle_lsd'])),
            ('identity conversion (to its own speaker) log-spectral distance (dB)',
             _number(content['identity_lsd'])),
            ('vocoder path alone, log-spectral distance (dB)', _number(content['vocoder_lsd'])),
            *[(f'baseline (no training): {what} log-spectral distance (dB)',
               _number(content[key])) for what, key in (
                  ('cycle', 'baseline_cycle_lsd'), ('identity conversion', 'baseline_identity_lsd'))
              if key in content],
            ('label sensitivity: mean |G(x, c_i) - G(x, c_j)|',
             f'{content["label_sensitivity"]:.4f}'),
            ('change: mean |G(x, c) - x|', f'{content["change_from_input"]:.4f}'),
            ('change of how the bands move: dynamics distance of G(x, c) from x',
             f'{content["motion_from_input"]:.4f}')]


TRANSCRIPT_TITLES = {'source': 'source, unconverted',
                     'source_vocoded': 'source through the vocoder path',
                     'f0_only': 'F0 only', 'shift': 'mean shift', 'spread': 'mean and spread',
                     'baseline': 'baseline',
                     'converted': 'model'}


def transcript_rows(report: dict) -> tuple:
    """(header, rows): word and character agreement of each row's transcripts with the
    source's own, and with the known words."""
    found = report.get('transcripts')
    if not found:
        return (), []
    header = ['', f'words agree with the source\'s transcript ({found["n"]})', 'characters',
              f'words agree with the known words ({found["n_truth"]})', 'characters']
    rows = []
    for name in TRANSCRIPT_TITLES:
        own, truth = found['agreement'].get(name), found['truth'].get(name)
        rows.append([TRANSCRIPT_TITLES[name]] + [
            _percent(scores[key]) if scores else '-'
            for scores in (own, truth) for key in ('word', 'character')])
    return header, rows


def markdown(report: dict) -> str:
    header, rows = table_rows(report)
    counts = report['counts']
    parts = [
        f'# Evaluation of {report["model"]} ({report["weights"]})', '',
        '```sh', report['command'], '```', '',
        f'Utterances: {report["utterances"]}. {counts["pairs"]} conversions of '
        f'{counts["probes"]} source utterances to every other speaker; speaker centroids from '
        f'{counts["references"]} other real utterances through the vocoder path; judge 2 '
        f'trained on {counts["classifier_train"]} real utterances.', '',
        _markdown_table(header, rows), '',
        _markdown_table(('calibration on real speech', ''), calibration_rows(report)), '']
    similarity = report['judge1'].get('centroid_similarity')
    if similarity and len(report['speakers']) > 2:
        parts += ['Cosine between the speakers\' centroids (real speech through the vocoder '
                  'path):', '', _markdown_table(
                      [''] + report['speakers'],
                      [[speaker] + [f'{value:.2f}' for value in row]
                       for speaker, row in zip(report['speakers'], similarity)]), '']
    header, rows = pairing_rows(report)
    if rows:
        parts += ['Same-sex and cross-sex pairs:', '', _markdown_table(header, rows), '']
    parts += ['Per direction (accepted: the target is the nearest of the '
              f'{len(report["speakers"])} centroids):', '',
              _markdown_table(*direction_rows(report)), '']
    if content_rows(report):
        parts += [_markdown_table(('content', ''), content_rows(report)), '']
    header, rows = transcript_rows(report)
    if rows:
        found = report['transcripts']
        parts += [f'What was said ({found["recogniser"]}), conversions of '
                  f'{", ".join(found["speakers"])}; other languages are judged by the speaker '
                  'judge and spectral distances only:', '', _markdown_table(header, rows), '']
    parts += ['![confusion](confusion.png) ![similarity](similarity.png)', '',
              'Listening page: [index.html](index.html).', '']
    return '\n'.join(parts)


# ------------------------------------------------------------------------------ plots

def plot_confusion(report: dict, path: Path) -> None:
    speakers = report['speakers']
    matrices = (('real speech, vocoder path', report['judge1']['confusion_real_vocoded']),
                ('converted', report['confusion_converted']))
    size = 1.2 + 0.45 * len(speakers)
    figure, axes = plt.subplots(1, 2, figsize=(2 * size + 1.5, size + 0.8))
    for axis, (title, matrix) in zip(axes, matrices):
        matrix = np.asarray(matrix)
        axis.imshow(matrix, cmap='Blues', vmin=0)
        for (r, c), count in np.ndenumerate(matrix):
            axis.text(c, r, str(count), ha='center', va='center', fontsize=7)
        axis.set_xticks(range(len(speakers)), speakers, rotation=90, fontsize=7)
        axis.set_yticks(range(len(speakers)), speakers, fontsize=7)
        axis.set_xlabel('nearest centroid', fontsize=8)
        axis.set_ylabel('speaker (real) / target (converted)', fontsize=8)
        axis.set_title(title, fontsize=9)
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)


def plot_similarity(report: dict, path: Path) -> None:
    figure, axis = plt.subplots(figsize=(6.4, 3.6))
    bins = np.linspace(-0.2, 1, 49)
    for name, key, label in (('converted', 'similarity_target', 'converted: to target'),
                             ('converted', 'similarity_source', 'converted: to source'),
                             ('source_vocoded', 'similarity_target', 'unconverted: to target'),
                             ('target_vocoded', 'similarity_target', 'real target: to target')):
        values = report['rows'][name]['per_utterance'][key]
        axis.hist(values, bins=bins, histtype='step', label=label, linewidth=1.4)
    axis.axvline(report['judge1']['threshold'], color='k', linestyle=':',
                 label='equal-error threshold')
    axis.set_xlabel('cosine similarity to a speaker centroid (GE2E)')
    axis.set_ylabel('utterances')
    axis.legend(fontsize=7)
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)


def plot_spectrogram(samples: np.ndarray, path: Path, title: str,
                     config: spectrogram.SpectrogramConfig) -> None:
    """The model's band of the signal, as the model sees it ([0, 1] log-magnitudes)."""
    samples = np.pad(samples, (0, max(0, config.fft_size - len(samples))))
    unit = spectrogram.to_unit(np.abs(spectrogram.band(spectrogram.stft(
        audio.peak_normalize(samples), config), config)), config)
    low, high = config.band_hz
    seconds = len(samples) / config.sample_rate
    figure, axis = plt.subplots(figsize=(3.6, 2.4))
    axis.imshow(unit.T, origin='lower', aspect='auto', vmin=0, vmax=1, cmap='magma',
                extent=(0, seconds, low, high))
    axis.set_title(title, fontsize=8)
    axis.set_xlabel('s', fontsize=7)
    axis.set_ylabel('Hz', fontsize=7)
    axis.tick_params(labelsize=6)
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)


# ---------------------------------------------------------------------- listening page

def write_examples(out: Path, examples: Sequence[dict],
                   config: spectrogram.SpectrogramConfig) -> list:
    """WAVs and spectrogram PNGs of each example; returns their relative paths."""
    (out / 'audio').mkdir(exist_ok=True)
    (out / 'spectrograms').mkdir(exist_ok=True)
    written = []
    for n, example in enumerate(examples):
        files = {'pair': example['pair'], 'transcripts': example.get('transcripts')}
        for role in (role for role in EXAMPLE_ROLES if role in example):
            stem = f'{n}_{role}'
            audio.save(out / 'audio' / f'{stem}.wav', example[role], config.sample_rate)
            plot_spectrogram(example[role], out / 'spectrograms' / f'{stem}.png',
                             ROLE_TITLES[role], config)
            files[role] = (f'audio/{stem}.wav', f'spectrograms/{stem}.png')
        written.append(files)
    return written


def _html_table(header: Sequence[str], rows: Sequence[Sequence[str]], css: str) -> str:
    head = ''.join(f'<th>{html.escape(h)}</th>' for h in header)
    body = ''.join('<tr>' + ''.join(f'<td>{html.escape(c)}</td>' for c in row) + '</tr>'
                   for row in rows)
    return f'<table class="{css}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def _heard(transcripts: Optional[dict], role: str) -> str:
    if not transcripts or role not in transcripts:
        return ''
    return f'<div class="heard">heard: &ldquo;{html.escape(transcripts[role])}&rdquo;</div>'


def listening_page(report: dict, examples: Sequence[dict]) -> str:
    header, rows = table_rows(report)
    cards = []
    for n, example in enumerate(examples):
        pair = example['pair']
        cells = []
        for role in (role for role in EXAMPLE_ROLES if role in example):
            wav, png = example[role]
            cells.append(
                f'<td class="{role}"><div class="role">{html.escape(ROLE_TITLES[role])}</div>'
                f'<audio controls preload="none" src="{html.escape(wav)}"></audio>'
                f'{_heard(example.get("transcripts"), role)}'
                f'<img src="{html.escape(png)}" alt="{html.escape(role)} spectrogram"></td>')
        title = (html.escape(f'{pair["source_speaker"]} ({Path(pair["source"]).name})')
                 + ' &rarr; ' + html.escape(pair['target_speaker']))
        cards.append(f'<tr class="example" id="example-{n}">'
                     f'<th colspan="{len(cells)}">{title}</th></tr>'
                     f'<tr>{"".join(cells)}</tr>')
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>Evaluation of {html.escape(report['model'])}</title>
<style>
body {{ font-family: sans-serif; margin: 1.5em; }}
table {{ border-collapse: collapse; margin-bottom: 1.5em; }}
td, th {{ border: 1px solid #ccc; padding: 4px 8px; font-size: 13px; vertical-align: top; }}
table.examples img {{ display: block; width: 360px; }}
table.examples audio {{ width: 360px; }}
.role {{ font-weight: bold; margin-bottom: 4px; }}
.heard {{ font-style: italic; margin: 4px 0; max-width: 360px; }}
</style></head><body>
<h1>Evaluation of {html.escape(report['model'])} ({html.escape(report['weights'])})</h1>
<pre>{html.escape(report['command'])}</pre>
<p>{html.escape(report['utterances'])}</p>
{_html_table(header, rows, 'summary')}
{_html_table(('calibration on real speech', ''), calibration_rows(report), 'calibration')}
{_html_table(('content', ''), content_rows(report), 'content') if content_rows(report) else ''}
{_html_table(*transcript_rows(report), 'transcripts') if transcript_rows(report)[1] else ''}
<h2>Listen</h2>
<table class="examples">{''.join(cards)}</table>
<p><img src="confusion.png" alt="confusion matrices">
<img src="similarity.png" alt="similarity histogram"></p>
</body></html>
"""
