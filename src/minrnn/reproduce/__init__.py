"""Paper reproduction drivers (``minrnn reproduce ...``)."""
