"""Widgets of the console: tables, tiles, charts, the state stepper, the span waterfall, the prompt."""
