"""Tasks: one module per job; each builds its clients, runs the core, closes what it opened."""
