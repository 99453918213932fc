"""One Markdown table from several evaluate.py reports: one row per model, with the floor
and ceiling rows of the first report.

    python results/ablation/table.py NAME=results/evaluation/RUN/report.json ...
"""
import json
import sys
from pathlib import Path

HEADER = ('| model | weights | target accepted | per direction | worse direction | margin | verified | '
          'judge 2: speaker | cycle LSD (dB) | identity LSD (dB) | label sensitivity | change |')


def directions(report, row='converted'):
    """'a->b 62 %, b->a 81 %' and the lower of the rates: a model that turns every input
    into one speaker scores 50 % overall but 0 % in one direction."""
    predicted = report['rows'][row]['per_utterance']['predicted']
    counts = {}
    for pair, guess in zip(report['pairs'], predicted):
        key = f"{pair['source_speaker']}->{pair['target_speaker']}"
        hits, total = counts.get(key, (0, 0))
        counts[key] = (hits + (guess == pair['target_speaker']), total + 1)
    rates = {k: 100 * h / n for k, (h, n) in sorted(counts.items())}
    return ', '.join(f'{k} {r:.0f} %' for k, r in rates.items()), min(rates.values())


def line(name, report, row, content=True):
    r = report['rows'][row]
    c = report['content']
    tail = (f"{c['cycle_lsd']:.2f} | {c['identity_lsd']:.2f} | {c['label_sensitivity']:.4f} | "
            f"{c['change_from_input']:.4f}") if content else f"{c['vocoder_lsd']:.2f} (vocoder) | | |"
    per, worse = directions(report, row)
    return (f"| {name} | {report['weights'] if content else ''} | "
            f"{100 * r['target_accepted']:.1f} % | {per} | {worse:.0f} % | "
            f"{r['similarity_margin']:+.3f} | {100 * r['verified']:.1f} % | "
            f"{100 * r['judge2']['speaker']:.1f} % | {tail} |")


def main(items):
    reports = [(name, json.loads(Path(path).read_text()))
               for name, path in (item.split('=', 1) for item in items)]
    first = reports[0][1]
    print(HEADER)
    print('|' + '---|' * (HEADER.count('|') - 1))
    print(line('source, unconverted (floor)', first, 'source', content=False))
    print(line('source through the vocoder path', first, 'source_vocoded', content=False))
    for name, report in reports:
        print(line(name, report, 'converted'))
    print(line('real target through the vocoder path (ceiling)', first, 'target_vocoded',
               content=False))


if __name__ == '__main__':
    main(sys.argv[1:])
