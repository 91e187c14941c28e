"""Makes the small compressed fixtures of the CLI tests (run from this folder; needs numpy and
soundfile with libsndfile >= 1.1 for MP3). Four hits at known times in 1.5 s of audio:
- hits.mp3 (22.05 kHz mono, MPEG layer III) and hits.ogg (44.1 kHz stereo, Vorbis): readable;
- hits.aiff: a real audio format that Cochlea does not read (unsupported);
- hits.opus.ogg: Ogg with an Opus stream, a codec Cochlea does not decode (unsupported).
hits.onsets.txt holds the true onset times."""
import numpy as np
import soundfile as sf

ONSETS = [0.2, 0.5, 0.8, 1.1]


def hits(sr, channels):
    n = int(1.5 * sr)
    x = np.zeros(n)
    rng = np.random.default_rng(7)
    for i, t0 in enumerate(ONSETS):
        s = int(t0 * sr)
        m = int(0.2 * sr)
        t = np.arange(m) / sr
        env = np.exp(-t / 0.03)
        tone = np.sin(2 * np.pi * (330 + 110 * i) * t)
        x[s:s + m] += 0.5 * env * (0.6 * rng.uniform(-1, 1, m) + 0.4 * tone)
    x += 0.001 * rng.uniform(-1, 1, n)
    return np.stack([x, 0.8 * x], axis=1) if channels == 2 else x


sf.write("hits.mp3", hits(22050, 1), 22050, format="MP3", subtype="MPEG_LAYER_III")
sf.write("hits.ogg", hits(44100, 2), 44100, format="OGG", subtype="VORBIS")
sf.write("hits.aiff", hits(8000, 1), 8000, format="AIFF", subtype="PCM_16")
sf.write("hits.opus.ogg", hits(48000, 1), 48000, format="OGG", subtype="OPUS")
with open("hits.onsets.txt", "w") as f:
    f.writelines(f"{t:.6f}\n" for t in ONSETS)
