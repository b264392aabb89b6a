"""What ``validate`` prints: one line per problem, then the totals.

Many warnings of one kind (unreviewed language cards, hard-to-read answers) are one line
each, so they do not bury the rest; ``verbose`` lists every warning, and each answer's
reading level first.
"""

from __future__ import annotations

from bot.content import readability
from bot.content.loading import Content
from bot.content.problems import Problem, Severity, summarised
from bot.text import plural


def validation_lines(
    content: Content | None, problems: list[Problem], *, verbose: bool = False
) -> list[str]:
    lines = []
    if verbose and content is not None:
        lines += [
            f"{i.path}:{i.answer_line}: note: {readability.measure(i.answer)}"
            for i in sorted(content.intents.values(), key=lambda i: i.path)
        ]
    lines += [str(p) for p in (problems if verbose else summarised(problems))]
    errors = sum(p.severity is Severity.ERROR for p in problems)
    warnings = len(problems) - errors
    lines.append(
        f"{plural(errors, 'error')}, {plural(warnings, 'warning')}"
        if problems
        else "Content OK: no problems."
    )
    return lines
