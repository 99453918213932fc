"""Where the energy of converted speech sits: shares of 50-500 Hz, 0.5-1.5 kHz, 1.5-4 kHz and
4-8 kHz in the listening page's examples (source, converted, real target) of evaluations.

    python results/ablation/band_energy.py results/evaluation/ablation/RUN ...

The audio is what evaluate.py wrote locally (it is not committed); each share is the mean
over the examples of that band's part of the power above 50 Hz.
"""
import sys
from pathlib import Path

import numpy as np
import soundfile

BANDS = ((50, 500), (500, 1500), (1500, 4000), (4000, 8000))


def shares(path: Path) -> np.ndarray:
    samples, rate = soundfile.read(str(path))
    if samples.ndim > 1:
        samples = samples.mean(axis=1)
    power = np.abs(np.fft.rfft(samples * np.hanning(len(samples)))) ** 2
    frequency = np.fft.rfftfreq(len(samples), 1 / rate)
    total = power[frequency >= BANDS[0][0]].sum()
    return np.array([power[(frequency >= low) & (frequency < high)].sum() / total
                     for low, high in BANDS])


def main(folders):
    print('| evaluation | examples | audio | ' +
          ' | '.join(f'{low}-{high} Hz' for low, high in BANDS) + ' |')
    print('|---' * (len(BANDS) + 3) + '|')
    for folder in map(Path, folders):
        for kind in ('source', 'converted', 'target'):
            files = sorted((folder / 'audio').glob(f'*_{kind}.wav'))
            mean = np.mean([shares(path) for path in files], axis=0)
            print(f'| {folder.name} | {len(files)} | {kind} | ' +
                  ' | '.join(f'{100 * share:.1f} %' for share in mean) + ' |')


if __name__ == '__main__':
    main(sys.argv[1:])
