"""`python -m wizard` runs the same entry point as the `auth0-workos` script."""

from wizard.cli import main

raise SystemExit(main())
