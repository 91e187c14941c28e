"""mir_eval's BSS Eval SDR and a scale-invariant SDR for pairs of files, to check the Rust
implementation. Usage: mir_eval_sdr.py REF EST [REF EST ...]; prints one `sdr si_sdr` per pair."""
import sys

import mir_eval
import numpy as np
import soundfile as sf

args = sys.argv[1:]
for ref_path, est_path in zip(args[::2], args[1::2]):
    r, _ = sf.read(ref_path, dtype="float64")
    e, _ = sf.read(est_path, dtype="float64")
    sdr = mir_eval.separation.bss_eval_sources(r[None, :], e[None, :], compute_permutation=False)[0][0]
    a = np.dot(e, r) / np.dot(r, r)
    si = 10 * np.log10(np.sum((a * r) ** 2) / np.sum((a * r - e) ** 2))
    print(f"{sdr:.4f} {si:.4f}")
