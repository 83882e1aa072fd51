from palbench.bench.cli import main

raise SystemExit(main())
