"""A mixed-integer linear program held as arrays, built in blocks.

Models add named blocks of variables and of constraint rows with numpy arrays (coordinate
triplets), never term by term, so a model with a million non-zeros builds in well under a
second; every solver back-end receives the same compressed matrix. Names of blocks are kept so
a solution can be read back by block (``values[program.block("x")]``).

Rows are ranges ``lower <= A x <= upper``: an equality has lower == upper, a ``>=`` row has
upper = +inf, a ``<=`` row lower = -inf.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

INF = float("inf")
#: slack when rounding integer columns' bounds, so 2.9999999999 stays 3
BOUND_TOLERANCE = 1e-9


def _column(values: object, n: int) -> np.ndarray:
    """Broadcast a scalar or sequence to a float vector of length n."""
    return np.broadcast_to(np.asarray(values, dtype=float), (n,)).copy()


@dataclass
class LinearProgram:
    """Variables, bounds, integrality, objective and constraint rows of one MILP."""

    lower: list[np.ndarray] = field(default_factory=list)
    upper: list[np.ndarray] = field(default_factory=list)
    integer: list[np.ndarray] = field(default_factory=list)
    row_lower: list[np.ndarray] = field(default_factory=list)
    row_upper: list[np.ndarray] = field(default_factory=list)
    entries: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = field(default_factory=list)
    blocks: dict[str, slice] = field(default_factory=dict)
    row_blocks: dict[str, slice] = field(default_factory=dict)
    num_cols: int = 0
    num_rows: int = 0
    objective_terms: list[tuple[np.ndarray, np.ndarray]] = field(default_factory=list)
    objective_constant: float = 0.0
    fixed: list[tuple[np.ndarray, np.ndarray]] = field(default_factory=list)
    #: a tighter relative MIP gap this program asks for than the run's (None: the run's)
    mip_gap: float | None = None
    #: a partial starting plan (columns, values), e.g. tier and contract choices; a back-end
    #: that takes starts completes it (HiGHS solves for the other columns), others ignore it
    start: tuple[np.ndarray, np.ndarray] | None = None

    def add_variables(
        self,
        name: str,
        count: int,
        lower: object = 0.0,
        upper: object = INF,
        integer: bool = False,
    ) -> np.ndarray:
        """Add ``count`` variables as block ``name``; return their column indices."""
        if name in self.blocks:
            raise ValueError(f"variable block {name!r} added twice")
        start = self.num_cols
        self.num_cols += count
        self.blocks[name] = slice(start, self.num_cols)
        self.lower.append(_column(lower, count))
        self.upper.append(_column(upper, count))
        self.integer.append(np.full(count, integer, dtype=bool))
        return np.arange(start, self.num_cols)

    def add_rows(
        self,
        name: str,
        count: int,
        lower: object = -INF,
        upper: object = INF,
    ) -> np.ndarray:
        """Add ``count`` constraint rows as block ``name``; return their row indices."""
        if name in self.row_blocks:
            raise ValueError(f"row block {name!r} added twice")
        start = self.num_rows
        self.num_rows += count
        self.row_blocks[name] = slice(start, self.num_rows)
        self.row_lower.append(_column(lower, count))
        self.row_upper.append(_column(upper, count))
        return np.arange(start, self.num_rows)

    def row_bounds(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """The (lower, upper) arrays of row block ``name``, to edit in place (``add_rows``
        appends one array per block, in the order of ``row_blocks``)."""
        index = list(self.row_blocks).index(name)
        return self.row_lower[index], self.row_upper[index]

    def add_terms(self, rows: object, cols: object, coefs: object) -> None:
        """Add coefficients ``A[rows[i], cols[i]] += coefs[i]`` (duplicates are summed)."""
        rows = np.asarray(rows, dtype=np.int64).ravel()
        cols = np.asarray(cols, dtype=np.int64).ravel()
        coefs = _column(coefs, rows.size)
        if rows.size != cols.size:
            raise ValueError("rows and cols differ in length")
        keep = coefs != 0.0
        self.entries.append((rows[keep], cols[keep], coefs[keep]))

    def add_objective(self, cols: object, coefs: object) -> None:
        """Add ``coefs[i] * var[cols[i]]`` to the objective (minimised)."""
        cols = np.asarray(cols, dtype=np.int64).ravel()
        self.objective_terms.append((cols, _column(coefs, cols.size)))

    def block(self, name: str) -> slice:
        return self.blocks[name]

    def fix(self, cols: object, values: object) -> None:
        """Fix columns ``cols`` at ``values`` (both bounds), e.g. a plan's tier choices."""
        cols = np.asarray(cols, dtype=np.int64).ravel()
        self.fixed.append((cols, _column(values, cols.size)))

    def gap(self, run_gap: float) -> float:
        """The relative MIP gap to solve to: the run's, or this program's if tighter."""
        return run_gap if self.mip_gap is None else min(run_gap, self.mip_gap)

    def _fix(self, bounds: np.ndarray) -> np.ndarray:
        for cols, values in self.fixed:
            bounds[cols] = values
        return bounds

    # -- assembled arrays handed to the solvers --------------------------------------------

    def _stack(self, parts: list[np.ndarray], dtype=float) -> np.ndarray:
        return np.concatenate(parts).astype(dtype) if parts else np.zeros(0, dtype=dtype)

    @property
    def col_lower(self) -> np.ndarray:
        """Lower bounds; integer columns' rounded up to an integer (see ``col_upper``)."""
        lower = self._stack(self.lower)
        integer = self.integrality
        lower[integer] = np.ceil(lower[integer] - BOUND_TOLERANCE)
        return self._fix(lower)

    @property
    def col_upper(self) -> np.ndarray:
        """Upper bounds; integer columns' rounded down to an integer. Exact for any integer
        program, and needed: HiGHS 1.15's presolve mis-solves integer columns with a
        fractional upper bound in (0, 1) (it returned a worse plan as "optimal", and called
        feasible models infeasible, when integer_places met scaled capacities)."""
        upper = self._stack(self.upper)
        integer = self.integrality
        upper[integer] = np.floor(upper[integer] + BOUND_TOLERANCE)
        return self._fix(upper)

    @property
    def integrality(self) -> np.ndarray:
        """Integer columns, less those fixed at a value (``fix``): a program whose integers
        are all fixed is a linear program, and goes to the LP solver as one."""
        integer = self._stack(self.integer, bool)
        for cols, _ in self.fixed:
            integer[cols] = False
        return integer

    @property
    def bounds_lower(self) -> np.ndarray:
        return self._stack(self.row_lower)

    @property
    def bounds_upper(self) -> np.ndarray:
        return self._stack(self.row_upper)

    @property
    def cost(self) -> np.ndarray:
        cost = np.zeros(self.num_cols)
        for cols, coefs in self.objective_terms:
            np.add.at(cost, cols, coefs)
        return cost

    def matrix(self) -> sp.csc_matrix:
        """The constraint matrix, duplicates summed, in compressed-column form."""
        if self.entries:
            rows, cols, coefs = (np.concatenate(part) for part in zip(*self.entries))
        else:
            rows = cols = np.zeros(0, dtype=np.int64)
            coefs = np.zeros(0)
        matrix = sp.coo_matrix((coefs, (rows, cols)), shape=(self.num_rows, self.num_cols))
        matrix = matrix.tocsc()
        matrix.sum_duplicates()
        matrix.eliminate_zeros()
        return matrix

    @property
    def is_mip(self) -> bool:
        return bool(self.integrality.any())

    def size(self) -> dict[str, int]:
        """Rows, columns, non-zeros and integer columns: the figures benchmarks report."""
        return {
            "rows": self.num_rows,
            "columns": self.num_cols,
            "nonzeros": int(self.matrix().nnz),
            "integers": int(self.integrality.sum()),
        }
