#!/usr/bin/env python3
"""Degraded copies of a corpus folder, to measure how a tracker holds up off the clean renders.

Usage: degrade_corpus.py {noise,reverb} SRC_DIR OUT_DIR [--snr DB] [--rt60 S] [--wet GAIN]

Every SRC_DIR/NAME.flac is written to OUT_DIR/NAME.flac, and the files beside it that share its
name (ground truth: NAME.f0.csv, NAME.onsets.txt, ...) are copied unchanged, so that `score`
runs on OUT_DIR with `--corpus`:

- noise: white noise at SNR DB (default 20) below the mean square of the file's non-silent
  samples;
- reverb: the file plus WET (default 0.5) times its convolution with an exponentially decaying
  Gaussian noise impulse response of RT60 S seconds (default 0.5), normalised to unit energy;
  scaled down only if it would clip.

The noise is seeded per file name, so the copies are the same on every run.
"""
import argparse
import glob
import os
import shutil
import zlib

import numpy as np
import soundfile as sf
from scipy.signal import fftconvolve


def main():
    p = argparse.ArgumentParser()
    p.add_argument("kind", choices=["noise", "reverb"])
    p.add_argument("src")
    p.add_argument("out")
    p.add_argument("--snr", type=float, default=20.0)
    p.add_argument("--rt60", type=float, default=0.5)
    p.add_argument("--wet", type=float, default=0.5)
    a = p.parse_args()
    os.makedirs(a.out, exist_ok=True)
    files = sorted(glob.glob(os.path.join(a.src, "*.flac")))
    if not files:
        raise SystemExit(f"degrade_corpus.py: no .flac files in {a.src}")
    for path in files:
        name = os.path.basename(path)[: -len(".flac")]
        rng = np.random.default_rng(zlib.crc32(name.encode()))
        x, sr = sf.read(path, always_2d=True)
        if a.kind == "noise":
            mono = x.mean(axis=1)
            level = np.sqrt(np.mean(mono[np.abs(mono) > 1e-4] ** 2))
            y = x + rng.standard_normal(x.shape) * level * 10 ** (-a.snr / 20)
        else:
            t = np.arange(int(1.2 * a.rt60 * sr)) / sr
            ir = rng.standard_normal(len(t)) * np.exp(-6.9 * t / a.rt60)
            ir /= np.sqrt(np.sum(ir**2))
            wet = np.stack([fftconvolve(x[:, c], ir)[: len(x)] for c in range(x.shape[1])], 1)
            y = x + a.wet * wet
        y /= max(1.0, np.abs(y).max() / 0.99)
        sf.write(os.path.join(a.out, name + ".flac"), y, sr)
        for side in glob.glob(os.path.join(a.src, glob.escape(name) + ".*")):
            if not side.endswith(".flac"):
                shutil.copy(side, a.out)
        print(name)


if __name__ == "__main__":
    main()
