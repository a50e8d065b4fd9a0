"""layout: the book laid out by WeasyPrint, paginated, and written as PDF pieces."""

# compat first: it loads WeasyPrint (quickly) and checks its version before any module uses it
from chapbook.layout import compat as _compat  # noqa: F401
