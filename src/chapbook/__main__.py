from chapbook.cli import main

raise SystemExit(main())
