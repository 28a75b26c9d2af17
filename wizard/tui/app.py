"""The Textual wizard: a step rail, the current step's view, the gate bar and the footer.

The app holds no migration logic: views call the core in workers, the app evaluates each step's
gate (wizard.core.steps) in a worker, records it in the journal and only renders the result.
All worker outcomes pass through one handler (`on_worker_state_changed`).
"""

from __future__ import annotations

import inspect
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rich.markup import escape
from textual import on
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, ContentSwitcher, Input, Label, Static
from textual.worker import Worker, WorkerState

from wizard.core import documents, steps
from wizard.core.config import Settings
from wizard.core.gates import GateResult, GateStatus
from wizard.core.journal import Journal
from wizard.core.progress import Progress
from wizard.core.rundir import SANDBOX_RUN_META
from wizard.tasks import gates as gates_task
from wizard.tui.messages import GateChecked, ProgressUpdate, StepSelected
from wizard.tui.screens import ConfirmScreen, HelpScreen, ReasonScreen
from wizard.tui.text import display_path, scrub
from wizard.tui.views.base import StepView
from wizard.tui.views.registry import make_views
from wizard.tui.widgets.key_footer import KeyFooter
from wizard.tui.widgets.step_rail import StepRail

ERRORS_DOC = documents.WIZARD_ERRORS.name
# workers that only read or show: they neither count as the step's work nor keep `q` from quitting
PASSIVE_WORK = frozenset({"gate", "providers", "duplicates", "search", "demo credentials", "report"})
ATTEMPTED_META = "wizard_attempted_steps"  # steps the person acted on: only these may look failed


class GateBar(Horizontal):
    """The gate's verdict in one line, and Back / Re-check / Not applicable / Next."""

    def compose(self) -> ComposeResult:
        yield Label("", id="gate-status")
        yield Button("◀ Back", id="btn-back", compact=True)
        yield Button("Re-check", id="btn-recheck", compact=True)
        yield Button("N/A…", id="btn-na", compact=True)
        yield Button("Next ▶", id="btn-next", variant="success", compact=True, disabled=True)


PROGRESS_REDRAW_SECONDS = 0.2


class WizardApp(App[int]):
    CSS_PATH = "wizard.tcss"
    TITLE = "auth0-workos"
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (100, "-wide")]  # the 80-column layout below 100
    BINDINGS = [
        Binding("n", "next", "Next"),
        Binding("b", "back", "Back"),
        Binding("r", "recheck", "Re-check"),
        Binding("x", "not_applicable", "N/A"),
        Binding("escape", "leave_field", "leaves a field", key_display="esc"),
        Binding("question_mark", "help", "Help", key_display="?"),
        Binding("q", "quit", "Quit"),
    ]

    def __init__(self, run_dir: Path, settings: Settings, *, sandbox: Any = None,
                 demo_exports: Any = None, demo_credentials: list[tuple[str, str]] | None = None) -> None:
        super().__init__()
        self.run_dir = Path(run_dir)
        self.settings = settings
        self.sandbox = sandbox
        self.demo_exports = demo_exports if demo_exports is not None else getattr(sandbox, "exports", None)
        self.demo_credentials = list(demo_credentials or [])
        self.journal = Journal.open(self.run_dir)
        self.current = steps.resume_index(self.journal)
        self.attempted: set[str] = set(filter(None, (self.journal.get_meta(ATTEMPTED_META) or "").split(",")))
        self.results: dict[str, GateResult] = {}
        self.running: set[str] = set()
        self._callbacks: dict[Worker, tuple[str, Callable[[Any], None] | None]] = {}
        self._progress_due: dict[tuple[str, str], Progress] = {}  # newest undrawn event per operation
        self.views: list[StepView] = make_views()
        self.started = False
        self._superseded_groups: set[str] = set()

    # ------------------------------------------------------------------ layout
    @property
    def mode(self) -> str:
        """What this session talks to: a local rehearsal or the accounts in the settings."""
        if self.sandbox is not None or self.demo_exports is not None:
            return "sandbox"
        if self.journal.get_meta(SANDBOX_RUN_META):
            return "sandbox run, live keys"
        return "live"

    def compose(self) -> ComposeResult:
        # the mode comes first so no width cuts it off
        mode = {"sandbox": "[b black on yellow] SANDBOX [/]", "live": "[b white on red] LIVE [/]"}.get(
            self.mode, "[b white on red] SANDBOX RUN · LIVE KEYS [/]")
        yield Static(f"{mode} [b]Auth0 → WorkOS[/b] · run folder: {display_path(self.run_dir)}", id="title-bar")
        with Horizontal(id="body"):
            yield StepRail(id="rail")
            with Vertical(id="main"), ContentSwitcher(id="views", initial=self.views[self.current].id):
                yield from self.views
        yield GateBar(id="gate-bar")
        yield KeyFooter()

    def on_mount(self) -> None:
        if self.is_headless:  # tests and screenshots: no blinking cursor or scrollbar, same picture every time
            self.add_class("-headless")
            for box in self.query(Input):
                box.cursor_blink = False
        self.enter_step(self.current)
        self.started = True

    @property
    def idle(self) -> bool:
        """Started, no wizard worker running, no gate check pending (tests and screenshots wait for it)."""
        return self.started and not self._callbacks and not self.running

    def on_unmount(self) -> None:
        self.journal.close()

    # ------------------------------------------------------------------ state
    @property
    def current_step(self) -> steps.Step:
        return steps.STEPS[self.current]

    @property
    def current_view(self) -> StepView:
        return self.views[self.current]

    def view_for(self, step_id: str) -> StepView:
        return self.views[steps.STEP_IDS.index(step_id)]

    def mark_attempted(self, step_id: str) -> None:
        """The person acted on the step (Next, Re-check, an action): from now on a failed gate shows ✗."""
        if step_id not in self.attempted:
            self.attempted.add(step_id)
            self.journal.set_meta(ATTEMPTED_META, ",".join(sorted(self.attempted)))

    def rail_states(self) -> dict[str, tuple[str, str]]:
        """Recorded gate states; a step nobody acted on yet is "to do" (current) or pending, never failed."""
        states = {}
        busy = self.running | {sid for sid, _ in self._callbacks.values()}
        failing: str | None = None  # the first earlier step whose gate fails: later ✓ marks are not trusted
        for i, s in enumerate(steps.STEPS):
            status, reason = steps.recorded_status(self.journal, s.id)
            if s.id in busy:
                status, reason = "running", ""
            elif status == GateStatus.PASSED.value and failing is not None:
                status, reason = "stale", f"step '{failing}' fails again: fix it, then re-check this one"
            elif status in (GateStatus.PENDING.value, GateStatus.FAILED.value) and s.id not in self.attempted:
                status = "todo" if i == self.current else GateStatus.PENDING.value
            elif status == GateStatus.PENDING.value and i == self.current:
                status = "todo"
            if status == GateStatus.FAILED.value and failing is None:
                failing = s.title
            states[s.id] = (status, reason)
        return states

    def refresh_chrome(self) -> None:
        """Rail and gate bar from the journal and the current gate's result."""
        self.query_one(StepRail).set_states(self.rail_states(), self.current)
        step = self.current_step
        result = self.results.get(step.id)
        label = self.query_one("#gate-status", Label)
        if step.id in self.running and result is None:
            label.update("[yellow]◌ checking…[/]")
        elif result is None:
            label.update("[dim]not checked yet[/]")
        elif result.status is GateStatus.PASSED and self.current == len(steps.STEPS) - 1:
            label.update("[green]✓ every step passed[/] — the migration is verified; write the report")
        elif result.status is GateStatus.PASSED:
            label.update("[green]✓ gate passed[/] — press n for the next step")
        elif result.status is GateStatus.NOT_APPLICABLE and self.applies(step):
            label.update(f"[b yellow]⚠ N/A, but the inventory shows it applies:[/] "
                         f"{escape(scrub(result.reason, self.settings, stable=self.is_headless))} (x clears it)")
        elif result.status is GateStatus.NOT_APPLICABLE:
            label.update(f"[cyan]– not applicable:[/] {escape(scrub(result.reason, self.settings, stable=self.is_headless))}")
        elif step.id not in self.attempted:
            label.update(f"[$accent]▶ to do:[/] {escape(scrub(result.reason or 'gate not passed', self.settings, stable=self.is_headless))}")
        else:
            label.update(f"[red]✗ {escape(scrub(result.reason or 'gate not passed', self.settings, stable=self.is_headless))}[/]")
        passed = bool(result and result.passed)
        self.query_one("#btn-next", Button).disabled = not passed or self.current == len(steps.STEPS) - 1
        self.query_one("#btn-back", Button).disabled = self.current == 0
        self.query_one("#btn-na", Button).display = step.conditional

    def applies(self, step: steps.Step) -> bool:
        """The inventory (or what the run holds) says this conditional step has work to do."""
        try:
            return bool(step.conditional and step.applies_when(self.journal, self.settings))
        except Exception:  # a journal read must never take the chrome down
            return False

    def enter_step(self, index: int) -> None:
        self.current = index
        steps.remember_current(self.journal, self.current_step.id)
        self.query_one("#views", ContentSwitcher).current = self.views[index].id
        view = self.views[index]
        view.entered()
        view.focus_primary()
        if view.auto_check:
            self.check_gate(view.step_id)
        self.refresh_chrome()

    # ------------------------------------------------------------------ gates
    def check_gate(self, step_id: str, *, attempted: bool = False) -> None:
        """Evaluate and record the step's gate in a worker (gates may do live reads). `attempted`: the
        person asked for it (Re-check, an action), so a failure now shows as failed."""
        if attempted:
            self.mark_attempted(step_id)
        step = steps.step_by_id(step_id)
        self.running.add(step_id)
        self.results.pop(step_id, None)  # Next stays disabled until the new verdict arrives
        self.start_work(step_id, "gate", lambda: gates_task.check_step(step, self.journal, self.settings),
                        on_done=lambda result: self.post_message(GateChecked(step_id, result)),
                        exclusive=True)
        self.refresh_chrome()

    def on_gate_checked(self, message: GateChecked) -> None:
        self.running.discard(message.step_id)
        self.results[message.step_id] = message.result
        self.view_for(message.step_id).gate_checked(message.result)
        if message.result.status is GateStatus.FAILED:
            self.recheck_later_steps(message.step_id)
        self.refresh_chrome()

    def recheck_later_steps(self, step_id: str) -> None:
        """An earlier gate fails again (keys removed, exports changed): the later ✓ marks are checked
        again instead of staying green (the rail marks them stale meanwhile)."""
        index = steps.STEP_IDS.index(step_id)
        for later in steps.STEPS[index + 1:]:
            if steps.recorded_status(self.journal, later.id)[0] == GateStatus.PASSED.value \
                    and later.id not in self.running:
                self.check_gate(later.id)

    # ------------------------------------------------------------------ workers (one place)
    def start_work(self, step_id: str, name: str, fn: Callable[[], Any], *,
                   on_done: Callable[[Any], None] | None = None, exclusive: bool = False) -> Worker:
        """Run `fn` off the UI thread (a coroutine function runs as an async worker)."""
        if name not in PASSIVE_WORK:
            self.clear_not_applicable_by_work(step_id)
        is_async = inspect.iscoroutinefunction(fn)
        worker = self.run_worker(fn() if is_async else fn, name=f"{step_id}:{name}", group=f"{step_id}:{name}",
                                 thread=not is_async, exclusive=exclusive, exit_on_error=False)
        self._callbacks[worker] = (step_id, on_done)
        if exclusive:  # a newer run replaces an older one: its cancellation is not news
            self._superseded_groups.add(worker.group)
        if self.started:
            self.refresh_chrome()
        return worker

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        worker = event.worker
        if worker not in self._callbacks:
            return
        step_id, on_done = self._callbacks[worker]
        if event.state == WorkerState.SUCCESS:
            del self._callbacks[worker]
            if on_done is not None:
                on_done(worker.result)
            self.refresh_chrome()
        elif event.state in (WorkerState.ERROR, WorkerState.CANCELLED):
            del self._callbacks[worker]
            if worker.name.endswith(":gate"):
                self.running.discard(step_id)
            if event.state == WorkerState.ERROR:
                self.report_error(step_id, worker.name, worker.error)
            elif worker.group not in self._superseded_groups:
                self.notify(f"{worker.name.split(':', 1)[1]} cancelled; the journal keeps its progress.")
            view = self.view_for(step_id)
            if hasattr(view, "work_ended"):
                view.work_ended(worker.name.split(":", 1)[1], event.state)
            self.refresh_chrome()

    def clear_not_applicable_by_work(self, step_id: str) -> None:
        """Doing a step's work means it applies after all: its not-applicable mark goes."""
        if steps.recorded_status(self.journal, step_id)[0] == GateStatus.NOT_APPLICABLE.value:
            steps.clear_not_applicable(self.journal, step_id)
            self.results.pop(step_id, None)
            self.notify(f"'{steps.step_by_id(step_id).title}' is no longer marked not applicable: "
                        "you are doing its work.")

    def active_work(self) -> list[str]:
        """Names of the running workers that change something (import, scans, writes)."""
        return [w.name.split(":", 1)[1] for w in self._callbacks
                if w.name.split(":", 1)[1] not in PASSIVE_WORK and w.state in (WorkerState.PENDING, WorkerState.RUNNING)]

    def report_error(self, step_id: str, operation: str, error: BaseException | None) -> None:
        """Notify the person and log to the journal: type and message only, secrets masked."""
        self.mark_attempted(step_id)
        message = scrub(f"{type(error).__name__}: {error}", self.settings, stable=self.is_headless)[:500]
        self.notify(escape(message), title=f"{steps.step_by_id(step_id).title} failed", severity="error", timeout=8)
        log = list(documents.WIZARD_ERRORS.read(self.journal) or [])
        log.append({"at": time.time(), "step": step_id, "operation": operation, "error": message})
        documents.WIZARD_ERRORS.write(self.journal, log[-200:])

    def progress_callback(self, step_id: str) -> Callable[[Progress], None]:
        """A thread-safe on_progress for the core: each event becomes a coalescing message."""
        return lambda p: self.post_message(ProgressUpdate(step_id, p))

    def on_progress_update(self, message: ProgressUpdate) -> None:
        """Progress is drawn at most every PROGRESS_REDRAW_SECONDS (the final event at once): an
        import reports every user, and a redraw per user would keep the UI from the keyboard."""
        key, p = (message.step_id, message.progress.operation), message.progress
        if p.done:
            self._progress_due.pop(key, None)
            self.view_for(key[0]).show_progress(p)
            return
        if not self._progress_due:
            self.set_timer(PROGRESS_REDRAW_SECONDS, self._draw_progress_due)
        self._progress_due[key] = p

    def _draw_progress_due(self) -> None:
        due, self._progress_due = self._progress_due, {}
        for (step_id, _), p in due.items():
            self.view_for(step_id).show_progress(p)

    # ------------------------------------------------------------------ navigation
    def action_next(self) -> None:
        result = self.results.get(self.current_step.id)
        if not (result and result.passed):
            self.mark_attempted(self.current_step.id)
            if result is not None:  # its checklist now shows the failure as a failure
                self.current_view.gate_checked(result)
            self.refresh_chrome()
            self.bell()
            reason = result.reason if result else "the check has not run yet"
            self.notify(f"Next is unavailable: {escape(scrub(reason, self.settings, stable=self.is_headless))}", severity="warning")
            return
        if self.current < len(steps.STEPS) - 1:
            self.enter_step(self.current + 1)
        else:
            self.notify("This is the last step: there is nothing after it. Finish the cutover checklist, "
                        "write the report again on the Verify step, then quit (q).")

    def action_back(self) -> None:
        if self.current > 0:
            self.enter_step(self.current - 1)

    def action_recheck(self) -> None:
        self.current_view.recheck()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Esc appears in the footer only while a text field has focus."""
        if action == "leave_field":
            return isinstance(self.focused, Input)
        return True

    def action_leave_field(self) -> None:
        """Esc in a text field: focus goes to the step view, so n / b / r are keys again."""
        if isinstance(self.focused, Input):
            self.set_focus(self.current_view)

    def action_help(self) -> None:
        self.push_screen(HelpScreen())

    def action_not_applicable(self) -> None:
        step = self.current_step
        if not step.conditional:
            self.notify(f"'{step.title}' always applies; it cannot be skipped.", severity="warning")
            return
        if steps.recorded_status(self.journal, step.id)[0] == GateStatus.NOT_APPLICABLE.value:
            def cleared(yes: bool | None) -> None:
                if yes:
                    steps.clear_not_applicable(self.journal, step.id)
                    self.results.pop(step.id, None)
                    self.check_gate(step.id)

            reason = steps.recorded_status(self.journal, step.id)[1]
            self.push_screen(ConfirmScreen(
                f"'{step.title}' is marked not applicable ({escape(reason)}). Clear that mark? The step's gate "
                "then applies again.", yes="Clear the mark", no="Keep it"), cleared)
            return

        def recorded(reason: str | None) -> None:
            if reason:
                try:
                    steps.mark_not_applicable(self.journal, step.id, reason)
                except ValueError as exc:  # the step refuses (e.g. roles were read): say why
                    self.notify(escape(str(exc)), severity="warning", timeout=8)
                    return
                self.check_gate(step.id, attempted=True)

        question = f"Why does '{step.title}' not apply to this migration?"
        if self.applies(step):
            question += ("\n[b yellow]⚠ The inventory shows it applies (for example, organizations or "
                         "providers were found).[/] The reason is recorded in the report.")
        self.push_screen(ReasonScreen(question), recorded)

    async def action_quit(self) -> None:
        """Quit; while work that writes or scans is running, ask first (the journal keeps progress)."""
        running = self.active_work()
        if not running:
            self.exit(self.return_code)
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self.exit(self.return_code)

        self.push_screen(ConfirmScreen(
            f"Work is running: {', '.join(running)}. Quit anyway? It stops; the journal keeps what is "
            "done and a resumed run reconciles the rest.", yes="Quit", no="Keep working"), answered)

    def on_step_selected(self, message: StepSelected) -> None:
        if message.index == self.current:
            return
        if steps.may_enter(self.journal, message.index):
            self.enter_step(message.index)
        else:
            self.notify("Finish the earlier steps first: each gate must pass in order.", severity="warning")

    @on(Button.Pressed, "#gate-bar Button")
    def gate_bar_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        {"btn-back": self.action_back, "btn-recheck": self.action_recheck,
         "btn-na": self.action_not_applicable, "btn-next": self.action_next}[event.button.id or ""]()
