"""nnsolve: worked solutions of neural-network exercises, step by step.

The Python API (the command line's solver, for scripts and notebooks)::

    import nnsolve
    w = nnsolve.solve("problems/lstm_seed.yaml")      # a path, YAML text, or a dict
    w.results["h"]                                     # the result contract
    w                                                  # in Jupyter: the working, rendered
    print(w.to_markdown())
    report = nnsolve.check("problems/lstm_seed.yaml", {"i[1]": 1.0})
    nnsolve.derive("sigmoid")
    nnsolve.kinds()

Bad input raises :class:`nnsolve.InputError` (``.file``, ``.line``, ``.column``, ``.path``).
Importing nnsolve loads nothing heavy: each function imports what it needs.
"""
from .errors import InputError

__version__ = "0.1.0"
__all__ = ["solve", "check", "derive", "kinds", "InputError", "Working"]


def solve(problem, precision=None, rounding=None, given=None):
    """Solve a problem (a file's path, its YAML text, or a dict; numpy arrays allowed) and
    return its Working: ``.results``, ``.to_markdown()``, ``.to_json()``; shown in Jupyter."""
    from .api import solve as _solve
    return _solve(problem, precision=precision, rounding=rounding, given=given)


def __getattr__(name):
    # nnsolve.check, nnsolve.kinds and nnsolve.derive are modules that can be called (see their
    # ends): nnsolve.check(problem, answers), nnsolve.kinds() -> {name: summary},
    # nnsolve.derive(expression) -> Working
    if name in ("check", "kinds", "derive"):
        import importlib
        return importlib.import_module(f".{name}", __name__)
    if name == "Working":
        from .working import Working
        return Working
    raise AttributeError(name)
