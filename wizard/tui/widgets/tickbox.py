"""A checkbox whose ticked and unticked states differ by glyph (✓ / blank), not by colour alone."""

from __future__ import annotations

from textual.content import Content
from textual.style import Style
from textual.widgets import Checkbox

TICKED, UNTICKED = "✓", " "


class TickBox(Checkbox):
    """Checkbox drawn as ▐✓▌ when ticked and ▐ ▌ when not (colour-blind and monochrome safe)."""

    @property
    def _button(self) -> Content:
        button_style = self.get_visual_style("toggle--button")
        side_style = Style(foreground=button_style.background, background=self.background_colors[1])
        return Content.assemble((self.BUTTON_LEFT, side_style),
                                (TICKED if self.value else UNTICKED, button_style),
                                (self.BUTTON_RIGHT, side_style))
