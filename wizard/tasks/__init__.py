"""The task layer: one module per job a step does.

A task takes the journal, the settings, a progress callback and its options; it builds the clients
it needs (`wizard.tasks.clients`), runs the core, closes what it opened, writes the run-folder files
and records step state through the core's gate functions, then returns a small typed result. The
three front ends (the Textual app, the plain prompts, the headless commands) call tasks and gates
only, so they behave the same. See docs/architecture.md, "The task convention".
"""
