#!/usr/bin/env python3
"""Drives Cochlea.vst3 in a real VST3 host from PyPI, for plugin/tests/vst3_hosts.rs.

    python vst3_hosts.py JOB.json

JOB holds: host ("pedalboard" or "minihost"), bundle, input (raw float32, channels x frames,
C order), channels, frames, sample_rate, block, output (where to write the output the same
way), set ([[parameter name, text], ...], set by name through the host's own API before
processing), bypass_blocks ([first, end) block range with bypass on, minihost only) and
state_roundtrip (minihost: save the state, open a second instance, restore it there and process
with that one).

Prints one JSON object: host, host_version, latency (reported after processing), params (name ->
text the host shows), notes ([[output sample, status, data1, data2], ...], minihost only),
layout_channels (output channels: the main bus's, then minihost's the five stem buses').
The output file holds every output channel the host gave, in bus order.
Checks live in the Rust test; this script only runs the host and reports what it saw.
"""
import json
import sys

import numpy as np


def parse_number(text):
    """A plain number from a display text such as '80 %' or '-50 dBFS'."""
    return float(text.strip().split()[0].rstrip("%"))


def run_pedalboard(job, x):
    import pedalboard

    plugin = pedalboard.load_plugin(job["bundle"])
    by_name = {p.name: key for key, p in plugin.parameters.items()}
    for name, text in job["set"]:
        key = by_name[name]
        param = plugin.parameters[key]
        if param.type is str:
            setattr(plugin, key, text)  # a choice, by its text
        elif param.type is bool:
            setattr(plugin, key, text.lower() in ("on", "true", "1"))
        else:
            setattr(plugin, key, parse_number(text))  # plain units, as pedalboard takes them
    # pedalboard compensates the latency the plugin reports: it drops that many samples from
    # the start of the output and renders the tail, so a plugin that delays by exactly what it
    # reports comes back aligned with its input.
    y = plugin.process(x, job["sample_rate"], buffer_size=job["block"], reset=True)
    params = {plugin.parameters[key].name: str(plugin.parameters[key].string_value)
              for key in plugin.parameters}
    return {
        "host_version": pedalboard.__version__,
        "latency": plugin.reported_latency_samples,
        "params": params,
        "notes": [],
        "layout_channels": int(y.shape[0]),
    }, y


def run_minihost(job, x):
    import minihost

    channels, block = job["channels"], job["block"]

    def open_plugin():
        plugin = minihost.Plugin(job["bundle"], sample_rate=float(job["sample_rate"]),
                                 max_block_size=block, in_channels=channels,
                                 out_channels=channels)
        # minihost enables every output bus: the main one, then the five stems.
        outs = plugin.num_output_channels
        if plugin.num_input_channels != channels or outs not in (channels, 6 * channels):
            raise SystemExit(f"minihost opened {plugin.num_input_channels} in / {outs} out, "
                             f"not {channels} in / {channels} or {6 * channels} out")
        return plugin, outs

    plugin, outs = open_plugin()
    for name, text in job["set"]:
        index = plugin.find_param(name)
        plugin.set_param(index, plugin.param_from_text(index, text))
    if job.get("state_roundtrip"):
        # JUCE hands parameter changes to the plugin with the next block, as in a running DAW.
        silent_in = np.zeros((channels, block), np.float32)
        plugin.process_midi(silent_in, np.zeros((outs, block), np.float32), [])
        state = plugin.get_state()
        plugin.close()
        plugin, outs = open_plugin()
        plugin.set_state(state)
    # The plugin applies parameters on the audio thread and reports a latency change through
    # the host's callbacks: process a silent block and let the host handle them, as a DAW does.
    silent_in = np.zeros((channels, block), np.float32)
    plugin.process_midi(silent_in, np.zeros((outs, block), np.float32), [])
    plugin.poll_callbacks()
    plugin.reset()
    frames = x.shape[1]
    y = np.zeros((outs, frames), np.float32)
    notes = []
    bypass = job.get("bypass_blocks")
    for b, start in enumerate(range(0, frames, block)):
        end = min(start + block, frames)
        if bypass is not None:
            plugin.bypass = bypass[0] <= b < bypass[1]
        xb = np.ascontiguousarray(x[:, start:end])
        yb = np.zeros((outs, end - start), np.float32)
        for offset, status, data1, data2 in plugin.process_midi(xb, yb, [], 1024):
            notes.append([start + offset, status, data1, data2])
        y[:, start:end] = yb
    params = {}
    for index in range(plugin.num_params):
        info = plugin.get_param_info(index)
        params[info["name"]] = plugin.param_to_text(index, plugin.get_param(index))
    result = {
        "host_version": getattr(minihost, "__version__", "unknown"),
        "latency": plugin.latency_samples,
        "params": params,
        "notes": notes,
        "layout_channels": plugin.num_output_channels,
        "midi_out_dropped": plugin.midi_out_dropped,
    }
    plugin.close()
    return result, y


def main():
    with open(sys.argv[1]) as f:
        job = json.load(f)
    x = np.fromfile(job["input"], dtype=np.float32).reshape(job["channels"], job["frames"])
    run = {"pedalboard": run_pedalboard, "minihost": run_minihost}[job["host"]]
    result, y = run(job, x)
    np.ascontiguousarray(y, dtype=np.float32).tofile(job["output"])
    result["host"] = job["host"]
    print(json.dumps(result))


if __name__ == "__main__":
    main()
