from chapbook.cli import run

raise SystemExit(run())
