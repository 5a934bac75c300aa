"""The rubric pattern language, matched against normalised answers."""

import pytest

from knowledge.patterns import PatternError, compile_pattern, find
from knowledge.text import tokenize

LEXICON = {"trader": ["retailer", "the shop", "we"]}


def matches(pattern: str, answer: str) -> bool:
    match = find(compile_pattern(pattern, LEXICON), tokenize(answer))
    return match is not None and not match.negated


@pytest.mark.parametrize(
    ("pattern", "answer", "expected"),
    [
        ("same card", "back to the same card", True),
        ("same card", "same debit card", False),
        ("same .. card", "same debit card", True),
        ("trader ... prove", "the trader will have to prove it", True),
        ("(@trader) ... prove", "the shop has to prove it", True),
        ("(@trader) ... prove", "the customer has to prove it", False),
        ("fit for purpose", "fit for purpose", True),
        ("fit for (a|the)? purpose", "fit for the purpose", True),
        ("^no", "No, not legally", True),
        ("^no", "I would say no", False),
        ("investigat*", "we investigated it", True),
        ("investigat*", "an investigation", True),
        ("=fit", "fits", False),
        ("satisfactory quality", "satisfactry qualty", True),
        ("receive", "recieve", True),
        ("accurate", "inaccurate", False),
        ("30 days", "thirty days", True),
        ("14 days", "two weeks", True),
        ("refund", "not a refund", False),
        ("refund", "No, a refund", True),
        ("customer ... prove", "the customer does not need to prove it", False),
        ("not .. charge", "they must not charge", True),
        # "not A its B": the negation is A's; B corrects it.
        ("30 days", "not 14 its 30 days", True),
        ("14 days", "not 14 days its 30", False),
        ("30 days", "it is not 30 days", False),
        ("2 years", "not 1 year or 2 years", False),
        # A prohibition reaches further than a plain "no" (NegEx's window is four words).
        ("restocking fee", "we're not allowed to take any admin or restocking fee", False),
        ("restocking fee", "you can never take any admin or restocking fee", False),
        ("restocking fee", "no receipt is needed for any admin or restocking fee", True),
        ("restocking fee", "not allowed to refuse, and a restocking fee is fine", True),
        # "against the rules to" prohibits like "not allowed to"; "against the retailer" doesn't.
        ("read out .. card", "it's against our security rules to read out card numbers", False),
        ("claim", "a claim against the retailer", True),
        ("trader ... prove", "the trader. Then prove", False),
        ("a .. b", "a x, b", False),
        # A reassurance ends its own negation: "don't worry, I'll …" promises.
        ("i will get", "dont worry ill get the £200 sorted", True),
        ("refund", "no problem, a refund it is", True),
        ("refund", "do not refund it", False),
        # "Don't …" forbids each thing it lists with "or", however far; not past "except".
        ("bring someone", "Don't make him use the phone or bring someone", False),
        ("team leader", "Don't give your password out except to your team leader", True),
    ],
)
def test_pattern_matching(pattern: str, answer: str, expected: bool) -> None:
    assert matches(pattern, answer) is expected


@pytest.mark.parametrize(
    ("pattern", "message"),
    [
        ("(a|b", "missing"),
        ("a)b", "unbalanced"),
        ("a ^b", "may only start"),
        ("... ?", "must follow"),
        ("more complaints?", "must follow a group"),
        ("(a||b)", "empty alternative"),
        ("@nothing", "unknown lexicon class"),
        ("...", "no words"),
        ("ab*", "too short"),
    ],
)
def test_bad_patterns_are_refused_with_a_reason(pattern: str, message: str) -> None:
    with pytest.raises(PatternError, match=message):
        compile_pattern(pattern, LEXICON)


def required_stems(pattern: str) -> list[list[str]]:
    return [
        sorted({*plain, *(w.stem for w in typos + others)})
        for plain, _, typos, others in compile_pattern(pattern, LEXICON).required
    ]


@pytest.mark.parametrize(
    ("pattern", "groups"),
    [
        # Every word outside optional parts; from a choice, one word of each alternative.
        ("fit for (a|the)? purpose", [["fit"], ["for"], ["purpos"]]),
        ("(refund|repair .. replac*) now", [["now"], ["refund", "repair"]]),
        # An alternative with no word of its own leaves its choice out.
        ("trader (prove|...) it", [["it"], ["trader"]]),
    ],
)
def test_required_words_are_the_ones_every_match_contains(
    pattern: str, groups: list[list[str]]
) -> None:
    assert sorted(required_stems(pattern)) == sorted(groups)


def test_typos_are_looked_for_among_words_of_a_shape_a_typo_could_have() -> None:
    # "warranty" (stem "warranti", eight letters: two edits): six to ten letters, first "w".
    [(_, shapes, _, _)] = compile_pattern("warranty").required
    assert shapes == {("w", size) for size in range(6, 11)}
    # "refund" (six letters: one edit): five to seven.
    [(_, shapes, _, _)] = compile_pattern("refund").required
    assert shapes == {("r", 5), ("r", 6), ("r", 7)}


@pytest.mark.parametrize(
    ("pattern", "answer"),
    [
        # The required words are checked with the matcher's own tolerance, never more strictly.
        ("satisfactory quality", "satisfactry qualty"),
        ("manufacturer warranty", "manufactuer warrant"),
        ("investigat* (the|a)? (fault|issue)", "we will invstigate the fault"),
        ("=refund", "a refund"),
    ],
)
def test_a_required_word_matches_with_typos_and_prefixes(pattern: str, answer: str) -> None:
    assert matches(pattern, answer)
