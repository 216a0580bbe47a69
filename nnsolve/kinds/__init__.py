"""The kind registry: ``kind:`` in a problem file -> the module that solves it.

A kind module defines ``SUMMARY`` (one line), ``GIVEN`` (its keys, declared as
:class:`nnsolve.given.Field` records: from them come the reader's known keys, ``nnsolve new``
and ``nnsolve schema``), ``read(reader, kind) -> problem`` and ``solve(problem, working)``.
The CLI never names a kind; adding one is adding a module and a line here.
"""
from __future__ import annotations

import functools
import importlib

KINDS = {
    "perceptron": "nnsolve.kinds.perceptron",
    "mlp": "nnsolve.kinds.mlp",
    "lstm": "nnsolve.kinds.lstm",
    "gru": "nnsolve.kinds.gru",
    "rnn": "nnsolve.kinds.rnn",
    "bptt": "nnsolve.kinds.rnn",
    "competitive": "nnsolve.kinds.competitive",
    "nearest_neighbour": "nnsolve.kinds.nearest_neighbour",
    "graph": "nnsolve.kinds.graph",
    "neuron": "nnsolve.kinds.neuron",
    "activation": "nnsolve.kinds.activation",
    "delta_rule": "nnsolve.kinds.delta_rule",
    "hebbian": "nnsolve.kinds.hebbian",
    "optimizer": "nnsolve.kinds.optimizer",
    "init": "nnsolve.kinds.init",
    "batchnorm": "nnsolve.kinds.batchnorm",
    "param_count": "nnsolve.kinds.param_count",
    "iou": "nnsolve.kinds.iou",
    "softmax": "nnsolve.kinds.softmax",
    "attention": "nnsolve.kinds.attention",
}


@functools.lru_cache(maxsize=1)
def _available() -> tuple:
    return tuple(available_now())


def available() -> list[str]:
    """Kinds whose module is present (a kind being built may not be yet)."""
    return list(_available())


def available_now() -> list[str]:
    out = []
    for name, mod in KINDS.items():
        if importlib.util.find_spec(mod) is not None:
            out.append(name)
    return out


def get(kind: str):
    return importlib.import_module(KINDS[kind])


def summaries() -> dict[str, str]:
    """The problem kinds: {name: one-line summary}."""
    out = {}
    for name in available():
        module = get(name)
        out[name] = getattr(module, "SUMMARIES", {}).get(name) or module.SUMMARY
    return out


class _CallableModule(type(importlib)):
    """``nnsolve.kinds()`` is the API's list of kinds; ``nnsolve.kinds`` stays the registry."""

    def __call__(self) -> dict[str, str]:
        return summaries()


import sys as _sys  # noqa: E402

_sys.modules[__name__].__class__ = _CallableModule
