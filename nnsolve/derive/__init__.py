"""nnsolve derive: derivatives rule by rule. Nothing is imported here (SymPy only inside
the command, after the safety checks); see command.py, engine.py, catalogue.py, safe_parse.py."""


import sys as _sys  # noqa: E402
import types as _types  # noqa: E402


class _CallableModule(_types.ModuleType):
    """``nnsolve.derive(expression)`` is the API's derivation; ``nnsolve.derive`` stays the
    package (catalogue, engine, command)."""

    def __call__(self, expression, wrt=None, at=None, precision=4):
        from ..api import derive
        return derive(expression, wrt=wrt, at=at, precision=precision)


_sys.modules[__name__].__class__ = _CallableModule
