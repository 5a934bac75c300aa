"""Marking against learner answers that tutors wrote blind to the rubrics (see data/).

`learner_answers.yaml` (792 answers) was the development set while writing the rubrics.
`holdout_answers.yaml` (540, a different tutor and cohort) was first used untouched:
88.4% agreement and 14.9% of incorrect answers marked correct; the general fixes it showed
(wrong laws, new figures, wrong start points, appended wrong clauses) were then made.
`final_answers.yaml` (432, a third assessor, apprentices writing on phones) was then first run
untouched: 85.6% and 22.8%, mostly correct answers with an invented condition appended ("but
only if …"); the fixes that followed (conditions the rubric doesn't know are wrong, numbers
from the question's own entries are fine) brought all three sets above the targets.
`sample_answers.yaml` (360, ordinary class submissions, few trick answers) was then first run
untouched: 96.4% agreement and 3.2% (4 of 124) of incorrect answers marked correct — the best
estimate of how the marker does on real classes — before its misses were fixed too.
Then two more, first run untouched after all of the above: `esol_answers.yaml` (288, English
as an additional language and workplace shorthand) 94.8% and 1.9%; `class_answers.yaml` (360,
a mixed Level 2 class) 97.8% and 1.5%. Their misses were fixed as well. A seventh,
`iqa_answers.yaml` (360, an internal quality assurer's sample written blind to the rubrics),
first run untouched after all of that: 95.6% and 3.2% (5 of 158). Its misses were general
ones (a bare "sealed" read as "still sealed", "No deduction unless …" not seen as a condition,
invented list items in "name the three" answers, claims the rubrics lacked: call-out fees,
keeping the delivery charge, "never" a deduction, adding extras without consent) and were
fixed. An eighth, `workplace_answers.yaml` (360, apprentices in real jobs writing in trade
words), first run untouched after that: 94.4% and 2.5% (4 of 159); its misses (paraphrases the
rubrics lacked, "card ending 1234" read as a legal figure, an "or" splitting one list item,
claims like "Scotland included" and "written by law") were fixed too. A ninth,
`college_answers.yaml` (360, 16-19 year olds in text-speak), first run untouched after that:
96.7% and 0.6% (1 of 158); its misses ("not 14 its 30 days" read as negating the 30, "if that
doesnt work money back" as negating the refund, a "complaints?" pattern that matched a bare
"more", a paid repeat performance) were fixed. Then two harder ones, first run untouched:
`shopfloor_answers.yaml` (360 spoken answers typed up word for word: stories, fillers,
"can't remember the third") 91.7% and 3.8% (6 of 159), and `academy_answers.yaml` (360 formal
answers from career changers citing sections and over-generalising: "always", "every breach")
91.1% and 5.0% (8 of 159). Their misses were fixed (admitted gaps and comment sentences are
not list items, cited sections outside the rule's own are wrong, wrong parties, sweeping
claims). Last, two more first run untouched after all of that: `plain_answers.yaml` (360
short chat answers in the style of the contract's own examples, the best guide to the
unpublished set) 97.2% and 0.7% (1 of 146), and `nearmiss_answers.yaml` (360 near misses
in both directions, collected by an EQA to be hard) 93.9% and 4.4% (7 of 159). Their misses
were fixed too. A fourteenth, `evening_answers.yaml` (360 chat answers from an adult evening
class, again like the contract's examples), first run untouched after that: 98.1% and 1.3%
(2 of 156); and a fifteenth, `apprentice_answers.yaml` (360 chat answers from
customer-service apprentices), 95.8% and 2.6% (4 of 156); and a sixteenth,
`distance_answers.yaml` (360 answers from home learners, some remembering old law), 98.3% and
1.2% (2 of 164); and a seventeenth, `induction_answers.yaml` (360 answers from an online
retailer's new starters), 96.7% and 1.9% (3 of 159). All were fixed as well, so all seventeen
are development sets now; a new blind set is the way to measure again.
Targets: at least 95% agreement with the tutor, and at most 2% of incorrect answers marked
correct.
"""

from collections import Counter
from pathlib import Path

import pytest
import yaml

from knowledge.loader import KnowledgeBase
from knowledge.marking import mark

DATA = Path(__file__).parent / "data"


def confusion(kb: KnowledgeBase, name: str) -> Counter[tuple[str, str]]:
    items = yaml.safe_load((DATA / name).read_text(encoding="utf-8"))
    counts: Counter[tuple[str, str]] = Counter()
    for item in items:
        question = kb.questions[item["question_id"]]
        for answer in item["answers"]:
            counts[(answer["verdict"], mark(question, answer["answer"]).outcome)] += 1
    return counts


@pytest.mark.parametrize(
    "name",
    [
        "learner_answers.yaml",
        "holdout_answers.yaml",
        "final_answers.yaml",
        "sample_answers.yaml",
        "esol_answers.yaml",
        "class_answers.yaml",
        "iqa_answers.yaml",
        "workplace_answers.yaml",
        "college_answers.yaml",
        "shopfloor_answers.yaml",
        "academy_answers.yaml",
        "plain_answers.yaml",
        "nearmiss_answers.yaml",
        "evening_answers.yaml",
        "apprentice_answers.yaml",
        "distance_answers.yaml",
        "induction_answers.yaml",
    ],
)
def test_agreement_with_tutors(kb: KnowledgeBase, name: str) -> None:
    if not (DATA / name).exists():
        pytest.fail(f"{name} is missing")
    counts = confusion(kb, name)
    total = sum(counts.values())
    agree = sum(n for (tutor, marker), n in counts.items() if tutor == marker)
    incorrect = sum(n for (tutor, _), n in counts.items() if tutor == "incorrect")
    false_correct = counts[("incorrect", "correct")]
    assert total >= 250
    assert agree / total >= 0.95, counts
    assert false_correct / incorrect <= 0.02, counts
