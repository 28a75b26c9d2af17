"""Step 7: one checklist item per social provider found in the plan, each confirmed by the person."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Checkbox, Static

from wizard.core import documents, steps
from wizard.core.gates import GateResult
from wizard.core.normalize import provider_label
from wizard.tui.views.base import StepView
from wizard.tui.widgets.checklist import Checklist
from wizard.tui.widgets.tickbox import TickBox

NOTE = (
    f"Register this callback URL at each provider: [b]{steps.SOCIAL_CALLBACK_URL}[/]\n"
    "Imported users link to their social sign-in by email once the provider is enabled in the WorkOS "
    "dashboard. If email verification is on, users may have to verify their email at first sign-in "
    "(Google accounts on gmail.com skip it)."
)


class SocialView(StepView):
    step_id = "social"

    def compose_body(self) -> ComposeResult:
        yield Static(NOTE, id="social-note")
        yield Vertical(id="social-items")
        yield Checklist("", id="social-checks")

    def entered(self) -> None:
        journal = self.wizard.journal

        def load() -> tuple[dict[str, int], dict]:
            return (steps.social_provider_counts(journal),
                    documents.SOCIAL_CONFIRMATIONS.read(journal))

        self.wizard.start_work(self.step_id, "providers", load,
                               on_done=lambda data: self.call_later(self._render_items, *data))

    async def _render_items(self, providers: dict[str, int], confirmed: dict) -> None:
        box = self.query_one("#social-items", Vertical)
        await box.remove_children()
        if not providers:
            await box.mount(Static("[cyan]No social provider found in the plan: mark this step not "
                                   "applicable (x) with a reason.[/]"))
            return
        for p, n in providers.items():
            users = f", {n} user{'s' if n != 1 else ''}" if n else ""
            label = f"{provider_label(p)} ({p}{users}): enabled in WorkOS"
            box_item = TickBox(label, value=p in confirmed, id=f"social-{p.replace('.', '_')}")
            box_item.provider = p  # type: ignore[attr-defined]
            await box.mount(box_item)

    def on_checkbox_changed(self, event: Checkbox.Changed) -> None:
        provider = getattr(event.checkbox, "provider", None)
        if provider is None:
            return
        event.stop()
        if event.value:
            self.wizard.clear_not_applicable_by_work(self.step_id)
        steps.confirm_social_provider(self.wizard.journal, provider, event.value)
        self.recheck()

    def gate_checked(self, result: GateResult) -> None:
        self.query_one("#social-checks", Checklist).show(result)
