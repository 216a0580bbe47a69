"""Every table of every working has as many cells in each row as it has columns."""
import pytest

from conftest import PROBLEMS
from nnsolve.core import solve_file
from nnsolve.working import Table


@pytest.mark.parametrize("path", PROBLEMS, ids=[p.name for p in PROBLEMS])
def test_rows_are_as_wide_as_the_columns(path):
    w = solve_file(str(path))
    for s in w.sections:
        for b in s.blocks:
            if isinstance(b, Table):
                for row in b.rows:
                    assert len(row) == len(b.columns), (s.title, b.title, b.columns, row)
