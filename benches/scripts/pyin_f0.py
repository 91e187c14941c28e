#!/usr/bin/env python3
"""librosa's pYIN (offline) over audio files, as the accuracy reference for `score pitch`.

Usage: pyin_f0.py --fmin HZ --fmax HZ --hop S OUT_DIR FILE...

Writes OUT_DIR/NAME.f0.csv (`time_s,freq_hz`, 0 where unvoiced) for each FILE; prints one line per
file done. Frames are centred (librosa's default), so time = frame * hop.
"""
import argparse
import os
import sys

import librosa
import numpy as np


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--fmin", type=float, default=librosa.note_to_hz("C2"))
    p.add_argument("--fmax", type=float, default=librosa.note_to_hz("C7"))
    p.add_argument("--hop", type=float, default=0.01)
    p.add_argument("out_dir")
    p.add_argument("files", nargs="+")
    a = p.parse_args()
    os.makedirs(a.out_dir, exist_ok=True)
    for path in a.files:
        y, sr = librosa.load(path, sr=None, mono=True)
        hop = int(round(a.hop * sr))
        # Frame length as librosa's default at 22.05 kHz (2048), scaled to the rate.
        frame = int(2 ** np.ceil(np.log2(2048 * sr / 22050)))
        f0, voiced, _ = librosa.pyin(
            y, fmin=a.fmin, fmax=a.fmax, sr=sr, frame_length=frame, hop_length=hop
        )
        f0 = np.where(voiced & np.isfinite(f0), f0, 0.0)
        t = np.arange(len(f0)) * hop / sr
        name = os.path.basename(path)
        for ext in (".flac", ".wav", ".mp3", ".ogg"):
            if name.endswith(ext):
                name = name[: -len(ext)]
        out = os.path.join(a.out_dir, name + ".f0.csv")
        with open(out + ".tmp", "w") as fh:
            fh.write("time_s,freq_hz\n")
            for ti, fi in zip(t, f0):
                fh.write(f"{ti:.6f},{fi:.4f}\n")
        os.replace(out + ".tmp", out)
        print(out, flush=True)


if __name__ == "__main__":
    sys.exit(main())
