"""Tasks: one module per job a step does (builds its clients, runs the core, writes run-folder files)."""
