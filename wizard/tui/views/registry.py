"""One view per step, in the order of wizard.core.steps.STEPS."""

from __future__ import annotations

from wizard.core.steps import STEP_IDS
from wizard.tui.views.base import StepView
from wizard.tui.views.cutover import CutoverView
from wizard.tui.views.export import ExportView
from wizard.tui.views.guide import GuideView
from wizard.tui.views.import_ import ImportView
from wizard.tui.views.inventory import InventoryView
from wizard.tui.views.mapping import MappingView
from wizard.tui.views.mfa import MfaView
from wizard.tui.views.orgs import OrgsView
from wizard.tui.views.prereqs import PrereqsView
from wizard.tui.views.roles import RolesView
from wizard.tui.views.social import SocialView
from wizard.tui.views.sso import SsoView
from wizard.tui.views.verify import VerifyView


def make_views() -> list[StepView]:
    views = [GuideView(), PrereqsView(), InventoryView(), ExportView(), MappingView(), ImportView(),
             SocialView(), OrgsView(), RolesView(), SsoView(), MfaView(), VerifyView(),
             CutoverView()]
    assert tuple(v.step_id for v in views) == STEP_IDS
    return views
