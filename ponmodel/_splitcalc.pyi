"""Stub for the compiled kernel ``ponmodel._splitcalc`` (the twin ``_splitcalc_py`` matches it).

Buffer arguments are 1-D typed memoryviews; the C type is in the comment. Inputs may be
read-only; outputs (``out``) must be writable. Each function raises ValueError when lengths
or dtypes disagree and otherwise returns a status code.
"""

from typing import Any, Final

from numpy.typing import NDArray

OK: Final[int]  # 0
ERR_PARENT_ORDER: Final[int]  # 1: parent[i] >= i
ERR_SHAPE: Final[int]  # 2: port_start[-1] != number of ONTs
ERR_BAD_INDEX: Final[int]  # 3: parent < -1, node/port out of range, bad CSR, additional not 0..2
ERR_BAD_WEIGHT: Final[int]  # 4: weight <= 0 or not finite for an ONT in a shared tier
ADDITIONAL_NONE: Final[int]  # 0
ADDITIONAL_NON_ASSURED: Final[int]  # 1
ADDITIONAL_BEST_EFFORT: Final[int]  # 2

def budget_forward(
    parent: NDArray[Any],  # const int64_t[:]
    edge_loss_down_db: NDArray[Any],  # const double[:]
    edge_loss_up_db: NDArray[Any],  # const double[:]
    edge_length_m: NDArray[Any],  # const double[:]
    edge_split: NDArray[Any],  # const double[:]
    cum_loss_down_db: NDArray[Any],  # double[:] out
    cum_loss_up_db: NDArray[Any],  # double[:] out
    cum_length_m: NDArray[Any],  # double[:] out
    cum_split: NDArray[Any],  # double[:] out
) -> int: ...
def budget_check(
    ont_node: NDArray[Any],  # const int64_t[:]
    ont_port: NDArray[Any],  # const int64_t[:]
    cum_loss_down_db: NDArray[Any],  # const double[:], per node
    cum_loss_up_db: NDArray[Any],  # const double[:], per node
    port_tx_min_dbm: NDArray[Any],  # const double[:], per port
    port_tx_max_dbm: NDArray[Any],  # const double[:]
    port_rx_sensitivity_dbm: NDArray[Any],  # const double[:]
    port_rx_overload_dbm: NDArray[Any],  # const double[:]
    port_class_min_loss_db: NDArray[Any],  # const double[:]
    port_class_max_loss_db: NDArray[Any],  # const double[:]
    ont_tx_min_dbm: NDArray[Any],  # const double[:], per ONT
    ont_tx_max_dbm: NDArray[Any],  # const double[:]
    ont_rx_sensitivity_dbm: NDArray[Any],  # const double[:]
    ont_rx_overload_dbm: NDArray[Any],  # const double[:]
    safety_margin_db: float,  # double
    rx_min_down_dbm: NDArray[Any],  # double[:] out, per ONT
    rx_max_down_dbm: NDArray[Any],  # double[:] out
    headroom_down_db: NDArray[Any],  # double[:] out
    rx_min_up_dbm: NDArray[Any],  # double[:] out
    rx_max_up_dbm: NDArray[Any],  # double[:] out
    headroom_up_db: NDArray[Any],  # double[:] out
    ok_down: NDArray[Any],  # uint8_t[:] out
    ok_up: NDArray[Any],  # uint8_t[:] out
    class_ok: NDArray[Any],  # uint8_t[:] out
) -> int: ...
def allocate(
    port_start: NDArray[Any],  # const int64_t[:], n_ports + 1 (CSR)
    capacity_mbps: NDArray[Any],  # const double[:], per port
    fixed_mbps: NDArray[Any],  # const double[:], per ONT
    assured_mbps: NDArray[Any],  # const double[:]
    max_mbps: NDArray[Any],  # const double[:]
    additional: NDArray[Any],  # const int8_t[:]: 0 none, 1 non_assured, 2 best_effort
    weight: NDArray[Any],  # const double[:]
    full_load_mbps: NDArray[Any],  # double[:] out
    peak_mbps: NDArray[Any],  # double[:] out
) -> int: ...
