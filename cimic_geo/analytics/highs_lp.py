"""``scipy.optimize.linprog(method="highs-ds")`` for ``min c·x, A x <= b, 0 <= x <= upper``, without
its result bookkeeping.

The allocation solves many small transportation LPs; scipy's wrapper spends about a third of the
time after HiGHS has finished, in a Python loop over the columns that builds bound multipliers the
allocation never reads. :func:`solve_lp` hands the same model with the same options to the same
HiGHS build that scipy bundles and reads back only the primal solution, so ``x`` is the very vector
``linprog`` returns. If scipy's private HiGHS module is not there (another scipy), it calls
``linprog``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp
from scipy.optimize import linprog

try:  # scipy's bundled HiGHS (private API; checked by the tests against linprog)
    import scipy.optimize._highspy._core as _h
    from scipy.optimize._linprog_highs import HighsDebugLevel, s_c
except ImportError:  # pragma: no cover - another scipy layout
    _h = None


def _options(options: dict[str, Any]) -> Any:
    """HighsOptions as ``linprog(method="highs-ds", options=options)`` sets them (``presolve`` and
    ``simplex_dual_edge_weight_strategy`` = ``"devex"`` are the only ones the allocation uses)."""
    opts = _h.HighsOptions()
    opts.presolve = "on" if options.get("presolve", True) else "off"
    opts.solver = "simplex"
    opts.highs_debug_level = HighsDebugLevel.kHighsDebugLevelNone
    opts.log_to_console = False
    opts.output_flag = False
    strategy = options.get("simplex_dual_edge_weight_strategy")
    if strategy is not None:
        opts.simplex_dual_edge_weight_strategy = {
            "dantzig": s_c.SimplexEdgeWeightStrategy.kSimplexEdgeWeightStrategyDantzig,
            "devex": s_c.SimplexEdgeWeightStrategy.kSimplexEdgeWeightStrategyDevex,
            "steepest-devex": s_c.SimplexEdgeWeightStrategy.kSimplexEdgeWeightStrategyChoose,
            "steepest": s_c.SimplexEdgeWeightStrategy.kSimplexEdgeWeightStrategySteepestEdge,
        }[strategy]
    opts.simplex_strategy = s_c.SimplexStrategy.kSimplexStrategyDual
    return opts


def solve_lp(c: np.ndarray, a_ub: sp.spmatrix, b_ub: np.ndarray, upper: np.ndarray, *,
             options: dict[str, Any]) -> tuple[np.ndarray | None, str]:
    """Minimise ``c·x`` subject to ``a_ub x <= b_ub`` and ``0 <= x <= upper`` with HiGHS dual simplex.

    Returns
    -------
    (x, message): ``x`` None when HiGHS found no optimum (``message`` says why).
    """
    known = {"presolve", "simplex_dual_edge_weight_strategy"}
    if _h is None or set(options) - known:
        res = linprog(c, A_ub=a_ub, b_ub=b_ub, bounds=np.column_stack([np.zeros(len(c)), upper]),
                      method="highs-ds", options=options)
        return (res.x if res.status == 0 else None), str(res.message)
    a = sp.csc_array(a_ub)
    lp = _h.HighsLp()
    lp.num_col_ = len(c)
    lp.num_row_ = a.shape[0]
    lp.a_matrix_.num_col_ = len(c)
    lp.a_matrix_.num_row_ = a.shape[0]
    lp.a_matrix_.format_ = _h.MatrixFormat.kColwise
    lp.col_cost_ = np.asarray(c, dtype=float)
    lp.col_lower_ = np.zeros(len(c))
    lp.col_upper_ = np.where(np.isinf(upper), _h.kHighsInf, np.asarray(upper, dtype=float))
    lp.row_lower_ = np.full(a.shape[0], -_h.kHighsInf)
    lp.row_upper_ = np.where(np.isinf(b_ub), _h.kHighsInf, np.asarray(b_ub, dtype=float))
    lp.a_matrix_.start_ = a.indptr
    lp.a_matrix_.index_ = a.indices
    lp.a_matrix_.value_ = a.data
    highs = _h._Highs()
    if highs.passOptions(_options(options)) == _h.HighsStatus.kError:  # pragma: no cover
        return None, "HiGHS refused the options"
    if highs.passModel(lp) == _h.HighsStatus.kError or highs.run() == _h.HighsStatus.kError:  # pragma: no cover
        return None, highs.modelStatusToString(highs.getModelStatus())
    status = highs.getModelStatus()
    if status != _h.HighsModelStatus.kOptimal:  # pragma: no cover - the allocation's LPs are feasible, bounded
        return None, highs.modelStatusToString(status)
    return np.array(highs.getSolution().col_value), "optimal"
