"""Tutors' overrides as rubric examples: `coach content examples --from-reviews` prints them as
YAML ready to paste under each question's `examples:`, and `coach content check` then marks
them like every other example, failing until the rubric agrees with the tutor."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Mapping, Sequence

from tutoring.ports import ReviewItem


def overridden(items: Sequence[ReviewItem]) -> list[ReviewItem]:
    """Decided items whose tutor's verdict differs from the machine's."""
    return [i for i in items if i.decision is not None and i.decision != i.machine_outcome]


def examples_yaml(items: Sequence[ReviewItem], where: Mapping[str, str]) -> str:
    """One `examples:` block per question (`where`: question id -> how to find it, e.g. a
    bank id or SCENARIO/STEP); each answer once, with the first tutor's verdict on it."""
    by_question: dict[str, dict[str, ReviewItem]] = defaultdict(dict)
    for item in overridden(items):
        by_question[item.question_id].setdefault(" ".join(item.answer.split()), item)
    if not by_question:
        return "# No tutor has overridden the marker in that period.\n"
    lines = [
        f"# {sum(len(a) for a in by_question.values())} answers where a tutor overrode the"
        " marker. Paste each list under the question's `examples:`; `coach content check`",
        "# then fails until the rubric marks them as the tutor did.",
    ]
    for question_id in sorted(by_question):
        lines += ["", f"# {where.get(question_id, question_id)}", f"- id: {question_id}"]
        lines.append("  examples:")
        for answer, item in by_question[question_id].items():
            assert item.decision is not None
            # A JSON string is a valid YAML double-quoted scalar: quotes and colons are safe.
            lines.append(
                f"  - {{answer: {json.dumps(answer, ensure_ascii=False)},"
                f" verdict: {item.decision}}}  # marked {item.machine_outcome}"
            )
    return "\n".join(lines) + "\n"
