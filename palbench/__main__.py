from palbench.cli import main

raise SystemExit(main())
