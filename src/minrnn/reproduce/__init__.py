"""Paper reproductions (``minrnn reproduce ...``)."""
