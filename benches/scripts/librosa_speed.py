#!/usr/bin/env python3
"""CPU time of librosa's analyses on audio files, for Cochlea's `compare` command.

    python3 librosa_speed.py TASK FILE...      TASK: onsets | pitch | hpss

Each file is loaded first (not timed); the analysis alone is timed with time.process_time().
Prints one JSON object per line: {"file", "audio_s", "cpu_s", "result"} where result is the
onset times (onsets), the f0 track as [[time, hz], ...] with 0 for unvoiced (pitch), or null.
"""
import json
import sys
import time

import numpy as np
import soundfile as sf
import librosa


def run(task, y, sr):
    if task == "onsets":
        return librosa.onset.onset_detect(y=y, sr=sr, units="time").tolist()
    if task == "pitch":
        f0, voiced, _ = librosa.pyin(y, fmin=60.0, fmax=2000.0, sr=sr, frame_length=2048, hop_length=441)
        times = librosa.times_like(f0, sr=sr, hop_length=441)
        return [[float(t), float(v) if ok and np.isfinite(v) else 0.0] for t, v, ok in zip(times, f0, voiced)]
    if task == "hpss":
        S = librosa.stft(y)
        H, P = librosa.decompose.hpss(S)
        librosa.istft(H, length=len(y))
        librosa.istft(P, length=len(y))
        return None
    sys.exit(f"unknown task {task}")


def main():
    task, files = sys.argv[1], sys.argv[2:]
    # Untimed warm-up: numba compiles librosa's kernels on first use.
    run(task, np.random.default_rng(0).standard_normal(44100).astype("float32") * 0.1, 44100)
    for f in files:
        y, sr = sf.read(f, dtype="float32", always_2d=True)
        y = np.ascontiguousarray(y.mean(axis=1))
        t0 = time.process_time()
        result = run(task, y, sr)
        cpu = time.process_time() - t0
        print(json.dumps({"file": f, "audio_s": len(y) / sr, "cpu_s": cpu, "result": result}), flush=True)


if __name__ == "__main__":
    main()
