"""Messages between workers, views and the app. Progress events coalesce (`can_replace`) so a fast
import never floods the UI: only the newest event of one operation is drawn."""

from __future__ import annotations

from textual.message import Message

from wizard.core.gates import GateResult
from wizard.core.progress import Progress


class ProgressUpdate(Message):
    """One Progress event for the step `step_id`; a newer event of the same operation replaces it."""

    def __init__(self, step_id: str, progress: Progress) -> None:
        super().__init__()
        self.step_id = step_id
        self.progress = progress

    def can_replace(self, message: Message) -> bool:
        return (
            isinstance(message, ProgressUpdate)
            and message.step_id == self.step_id
            and message.progress.operation == self.progress.operation
        )


class GateChecked(Message):
    """A step's gate was evaluated (and recorded in the journal)."""

    def __init__(self, step_id: str, result: GateResult) -> None:
        super().__init__()
        self.step_id = step_id
        self.result = result


class StepSelected(Message):
    """The user picked a step in the rail."""

    def __init__(self, index: int) -> None:
        super().__init__()
        self.index = index
