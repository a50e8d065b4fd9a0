"""Whole-book passes after reading, before writing: glossary, index, term occurrences."""
