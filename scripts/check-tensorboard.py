#!/usr/bin/env python3
"""Reads ddpg's TensorBoard event files with TensorBoard's own event reader.

Usage: scripts/check-tensorboard.py LOGDIR [TAG ...]
Prints each scalar tag with its number of points and last value, and exits
non-zero if the files do not load or a required tag is missing.
Needs `pip install tensorboard`.
"""
import sys
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

logdir = sys.argv[1]
required = sys.argv[2:] or ["Reward", "Qmax", "loss/critic", "loss/actor", "eval/mean_return"]
accumulator = EventAccumulator(logdir, size_guidance={"scalars": 0})
accumulator.Reload()
tags = accumulator.Tags()["scalars"]
for tag in sorted(tags):
    points = accumulator.Scalars(tag)
    print(f"{tag}: {len(points)} points, last step {points[-1].step}, last value {points[-1].value:.3f}")
missing = [tag for tag in required if tag not in tags]
if missing:
    sys.exit(f"missing scalar tags: {missing}")
