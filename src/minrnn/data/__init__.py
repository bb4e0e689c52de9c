"""Data: character-level text corpora and named datasets."""

from minrnn.data.corpora import resolve_dataset, resolve_text_source
from minrnn.data.text import CharCorpus, CharVocab, read_text_file, sample_batch

__all__ = ["CharCorpus", "CharVocab", "read_text_file", "resolve_dataset", "resolve_text_source",
           "sample_batch"]
