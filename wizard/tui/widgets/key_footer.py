"""The footer's key bar, redrawn only when the keys it shows change.

Textual's Footer rebuilds all its key widgets whenever the bindings may have changed, which is
every focus move; during an import that rebuild was most of the cost of pressing Tab. The keys
shown here change only when a text field gains or loses focus (Esc) or an action is disabled."""

from __future__ import annotations

from textual.screen import Screen
from textual.widgets import Footer


class KeyFooter(Footer):
    _shown: tuple | None = None

    def bindings_changed(self, screen: Screen) -> None:
        shown = tuple(
            (binding.key, binding.action, binding.description, enabled, tooltip)
            for (_, binding, enabled, tooltip) in screen.active_bindings.values()
            if binding.show
        )
        if shown == self._shown and self.is_attached and screen is self.screen:
            return
        if screen.app.app_focus:  # otherwise Footer does not redraw now: compare again next time
            self._shown = shown
        super().bindings_changed(screen)
