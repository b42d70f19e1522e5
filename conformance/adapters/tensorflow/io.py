"""Tensor save/load for the TensorFlow adapter, the TF note's NumPy way, never unpickling.

Rule: the note saves tensors with np.save (one tensor), np.save of a list, and np.save of a
dict, then np.load(..., allow_pickle=True). The kit never enables pickle: one tensor goes
through np.save/np.load(allow_pickle=False), a list or dict through np.savez (keys arr_0..
or the dict's keys). What the note's exact list/dict calls do today is recorded in
`session.notes` (the dict needs pickle to load; a ragged list fails in NumPy >= 1.24).
"""

from __future__ import annotations

import os

import numpy as np


def _first_line(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {str(exc).strip().splitlines()[0] if str(exc).strip() else ''}"


def _note_way(session, file, tensors) -> str:
    """Run the note's np.save call on a scratch file and say what happened (no unpickling)."""
    scratch = os.path.join(session.workdir, "note_way")
    os.makedirs(scratch, exist_ok=True)
    path = os.path.join(scratch, "note.npy")
    try:
        np.save(path, tensors)
    except Exception as exc:  # noqa: BLE001 - the outcome is the observation
        return f"np.save({type(tensors).__name__} of tensors) fails: {_first_line(exc)}"
    try:
        loaded = np.load(path, allow_pickle=False)
    except ValueError as exc:
        return (f"np.save({type(tensors).__name__}) wrote a pickled object array; "
                f"np.load(allow_pickle=False) refuses it ({_first_line(exc)}): the note needs pickle")
    return (f"np.save({type(tensors).__name__}) stacked the tensors into one array of shape "
            f"{list(loaded.shape)} (no pickle; the list structure is not kept)")


def save_tensors(session, file, value) -> None:
    tf = session.tf
    path = os.path.join(session.workdir, file)
    if isinstance(value, dict):
        tensors = {key: tf.constant(item) for key, item in value.items()}
        session.notes[f"note_way:{file}"] = _note_way(session, file, tensors)
        np.savez(path, **tensors)
        kind, actual = "dict", path if path.endswith(".npz") else path + ".npz"
    elif isinstance(value, list):
        tensors = [tf.constant(item) for item in value]
        session.notes[f"note_way:{file}"] = _note_way(session, file, tensors)
        np.savez(path, *tensors)
        kind, actual = "list", path if path.endswith(".npz") else path + ".npz"
    else:
        np.save(path, tf.constant(value))
        kind, actual = "array", path if path.endswith(".npy") else path + ".npy"
    session.files[file] = (kind, actual)
    session.notes[f"save:{file}"] = (
        f"{'np.save' if kind == 'array' else 'np.savez'} -> {os.path.basename(actual)} (no pickle)"
    )


def load_tensors(session, file):
    kind, path = session.files.get(file, ("array", os.path.join(session.workdir, file)))
    data = np.load(path, allow_pickle=False)
    if kind == "array":
        return data
    with data:
        if kind == "list":
            return [data[f"arr_{i}"] for i in range(len(data.files))]
        return {key: data[key] for key in data.files}
