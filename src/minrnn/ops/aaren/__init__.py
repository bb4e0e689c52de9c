"""Backends of ``aaren``: ``reference`` (token loop), ``prefix_scan`` (the paper's parallel scan) and
``chunked`` (running max + the chunked linear scan; the default)."""

from minrnn.ops.aaren.prefix_scan import aaren_prefix_scan, combine
from minrnn.ops.aaren.reference import AarenState, aaren_reference, aaren_step
from minrnn.ops.aaren.via_linear_scan import aaren_via_linear_scan
from minrnn.ops.linear_scan import linear_scan_chunked
from minrnn.ops.registry import register


def aaren_chunked(scores, values, state):
    return aaren_via_linear_scan(linear_scan_chunked, scores, values, state)


register("aaren", "reference", aaren_reference, priority=-10)
register("aaren", "prefix_scan", aaren_prefix_scan, priority=-5)
register("aaren", "chunked", aaren_chunked, priority=0)

__all__ = ["AarenState", "aaren_chunked", "aaren_prefix_scan", "aaren_reference", "aaren_step",
           "aaren_via_linear_scan", "combine"]
