"""The ``--help`` layout shared by the training and evaluation scripts."""

from __future__ import annotations

import argparse
import textwrap


class HelpFormatter(argparse.RawDescriptionHelpFormatter, argparse.ArgumentDefaultsHelpFormatter):
    """The module docstring as written; each option's default unless it is None/off/empty, the option
    is required or its help already says it; paths and data specs kept whole when lines are wrapped.

    >>> parser = argparse.ArgumentParser(description=__doc__, formatter_class=HelpFormatter)
    """

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if (action.required or action.default is None or action.default == []
                or (action.default is False and not isinstance(action, argparse.BooleanOptionalAction))
                or "default:" in text or "%(default)" in text):
            return text
        if isinstance(action.default, list):  # as typed on the command line: a b c
            return text + " (default: " + " ".join(map(str, action.default)).replace("%", "%%") + ")"
        return super()._get_help_string(action)

    def _split_lines(self, text: str, width: int) -> list[str]:
        return textwrap.wrap(" ".join(text.split()), width, break_long_words=False, break_on_hyphens=False)
