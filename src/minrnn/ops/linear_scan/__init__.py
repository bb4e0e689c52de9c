"""Backends of ``linear_scan``: h_t = a_t * h_{t-1} + b_t.

- ``reference``: sequential loop (ground truth).
- ``log_space``: the paper's log-space scan (a > 0 only).
- ``chunked``: two-level chunked scan with a reverse-scan backward (default on every device).
"""

from minrnn.ops.linear_scan.autograd import scan_with_kernel
from minrnn.ops.linear_scan.chunked import chunked_scan_forward
from minrnn.ops.linear_scan.log_space import linear_scan_log_space, log_space_scan
from minrnn.ops.linear_scan.reference import linear_scan_reference
from minrnn.ops.registry import register


def linear_scan_chunked(a, b, h0):
    return scan_with_kernel(chunked_scan_forward, a, b, h0)


register("linear_scan", "reference", linear_scan_reference, priority=-10)
register("linear_scan", "log_space", linear_scan_log_space, priority=-5)
register("linear_scan", "chunked", linear_scan_chunked, priority=0)

__all__ = ["chunked_scan_forward", "linear_scan_chunked", "linear_scan_log_space", "linear_scan_reference",
           "log_space_scan", "scan_with_kernel"]
