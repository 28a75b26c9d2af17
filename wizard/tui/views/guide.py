"""Step 1: the official guide's address, what this wizard follows, where newer facts win; acknowledge."""

from __future__ import annotations

from rich.markup import escape
from textual.app import ComposeResult
from textual.widgets import Checkbox, Static

from wizard.core import steps
from wizard.core.gates import GateResult
from wizard.tui.views.base import StepView
from wizard.tui.views.unavailable import core_or_none

FALLBACK_OVERRIDES = (
    "Password hashes join on auth0| + alt_id (or _id.$oid), not on the bare id.",
    "Organization domains come from discovery domains and metadata, not auth0Org.domains.",
    "Memberships use organization_membership.create_organization_membership with a role slug.",
    "An existing user is looked up and updated, never reported as imported without its password.",
    "Duplicate emails are merged by a stated rule before import, not failed at the API.",
    "The import owns its retries (SDK retries off) and pauses on 429 with Retry-After.",
)


def guide_facts() -> tuple[str, list[str]]:
    """The guide URL and the list of places where api-facts overrides the seed guide."""
    url = steps.GUIDE_URL
    overrides: list[str] = list(FALLBACK_OVERRIDES)
    for name in ("GUIDE_URL", "OFFICIAL_GUIDE_URL"):
        found = core_or_none("guide", name)
        if isinstance(found, str):
            url = found
            break
    for name in ("DIFFERENCES", "overrides", "OVERRIDES"):
        found = core_or_none("guide", name)
        if found is None:
            continue
        items = found() if callable(found) else found
        overrides = [_override_text(o) for o in items]
        break
    return url, overrides


def _override_text(o) -> str:
    if isinstance(o, str):
        return escape(o)
    if isinstance(o, dict):
        return " — ".join(str(v) for v in o.values() if v)
    if hasattr(o, "topic") and hasattr(o, "wizard_does"):
        return (f"[b]{escape(o.topic)}[/b]: {escape(o.wizard_does)} "
                f"[dim](seed guide: {escape(getattr(o, 'seed_says', ''))})[/]")
    return escape(str(o))


class GuideView(StepView):
    step_id = "guide"

    def compose_body(self) -> ComposeResult:
        url, overrides = guide_facts()
        followed = core_or_none("guide", "FOLLOWED") or (
            "prerequisites, Auth0 inventory, export files, mapping, import, social providers, "
            "organizations, MFA, verification",)
        text = (
            f"Official guide: [b u]{url}[/]\n\n[b]What this wizard follows, in order:[/]\n"
            + "\n".join(f" {i}. {f}" for i, f in enumerate(map(escape, followed), 1))
            + "\n\n[b]Where newer API facts override the seed guide:[/]\n"
            + "\n".join(f" • {o}" for o in overrides)
        )
        yield Static(text, id="guide-text")
        yield Checkbox("I have read the guide and understand what this wizard follows", id="guide-ack")

    def entered(self) -> None:
        ack = bool(self.wizard.journal.get_document(steps.DOC_GUIDE_ACK))
        box = self.query_one("#guide-ack", Checkbox)
        with box.prevent(Checkbox.Changed):
            box.value = ack

    def on_checkbox_changed(self, event: Checkbox.Changed) -> None:
        if event.checkbox.id != "guide-ack":
            return
        if event.value:
            steps.acknowledge_guide(self.wizard.journal)
        else:
            self.wizard.journal.put_document(steps.DOC_GUIDE_ACK, None)
        self.recheck()

    def gate_checked(self, result: GateResult) -> None:
        pass
