from chapbook.watcher import run

raise SystemExit(run())
