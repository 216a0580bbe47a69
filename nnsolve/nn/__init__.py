"""The library of neural-network functions: every activation and loss is one record.

A record holds everything nnsolve knows of the function: its name and aliases, its
notation (LaTeX), its value (numpy), its derivative written with :mod:`nnsolve.ops` (so the
working can show it; in terms of the output y where the classic identity exists), the form
SymPy reads for ``nnsolve derive``, and its facts (range, largest slope). Kinds, the derive
catalogue and the README's table all read it; adding an activation is adding one record in
:mod:`nnsolve.nn.activations`.
"""
from __future__ import annotations

from .activations import ACTIVATIONS, Activation, activation, activation_names
from .losses import LOSSES, Loss, log_terms, loss, loss_names

__all__ = ["ACTIVATIONS", "Activation", "activation", "activation_names",
           "LOSSES", "Loss", "loss", "loss_names"]
