"""`python -m daemon` is the `traderd` command."""

from daemon.cli import main

raise SystemExit(main())
