"""librosa's offline HPSS (defaults: n_fft 2048, hop 512, kernel 31, power 2, margin 1) on one
file; writes the harmonic and percussive estimates as float WAVs for the Rust scorer.
Usage: librosa_hpss.py IN OUT_HARMONIC OUT_PERCUSSIVE"""
import sys

import librosa
import soundfile as sf

x, sr = sf.read(sys.argv[1], dtype="float32", always_2d=True)
x = x.mean(axis=1)
S = librosa.stft(x)
H, P = librosa.decompose.hpss(S)
h = librosa.istft(H, length=len(x))
p = librosa.istft(P, length=len(x))
sf.write(sys.argv[2], h, sr, subtype="FLOAT")
sf.write(sys.argv[3], p, sr, subtype="FLOAT")
