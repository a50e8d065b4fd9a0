"""PDF post-processing with pikepdf, after WeasyPrint has written: combining a long book's
pieces, imposing the booklet, stable ids. pikepdf (6.5 MiB) is imported by the modules that use
it, so that a book written whole never loads it."""
