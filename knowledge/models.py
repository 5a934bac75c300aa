"""Content models: knowledge entries, criteria, questions and their rubrics.

Every model is frozen and forbids unknown keys, so a typo in a content file fails at load
with the file, line and field instead of being silently ignored. Rubric patterns are compiled
while validating; the lexicon they refer to comes in through the validation context.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from functools import cached_property, lru_cache
from itertools import pairwise
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationInfo,
    field_validator,
    model_validator,
)

from knowledge import citations
from knowledge.patterns import Pattern, PatternError, compile_pattern
from knowledge.text import NO_BREAK, durations, tokenize, tokenize_cached

CRITERION_RE = re.compile(r"^(POST:P[1-4]|Y/504/6243:[12]\.\d|A/500/7158:[12]\.\d)$")
ID_RE = r"^[a-z0-9]+(-[a-z0-9]+)*$"

# Telegram quiz-poll limits (Bot API sendPoll); a question that breaks them is sent as a
# message with buttons instead, and `coach content check` says so.
POLL_QUESTION_MAX = 300
POLL_OPTION_MAX = 100
POLL_OPTIONS_MIN = 2
POLL_OPTIONS_MAX = 10
POLL_EXPLANATION_MAX = 200
POLL_EXPLANATION_LINE_FEEDS = 2
MESSAGE_MAX = 4096


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)


Id = Annotated[str, Field(pattern=ID_RE, max_length=80)]
Text = Annotated[str, Field(min_length=1)]


def _well_cited(text: str) -> str:
    citations.check(text)
    return text


Cited = Annotated[str, Field(min_length=1), AfterValidator(_well_cited)]
"""Text whose legal citations must be in the checked format (knowledge/citations.py)."""


def _criterion(code: str) -> str:
    if not CRITERION_RE.match(code):
        raise ValueError(
            f"unknown criterion {code!r}: use POST:P1-P4, Y/504/6243:1.1-2.3 or A/500/7158:1.1-2.6"
        )
    return code


CriterionCode = Annotated[str, AfterValidator(_criterion)]

Topic = Literal[
    "goods",
    "services",
    "digital-content",
    "distance-selling",
    "time-limits",
    "store-policy",
    "data-protection",
    "equality",
    "product-liability",
    "complaints",
    "referral",
    "recording",
    "communication",
    "customer-types",
    "satisfaction",
    "additional-needs",
    "procedures",
]

TOPIC_TITLES: dict[str, str] = {
    "goods": "Faulty goods (CRA 2015)",
    "services": "Services (CRA 2015)",
    "digital-content": "Digital content (CRA 2015)",
    "distance-selling": "Online and distance sales (CCR 2013)",
    "time-limits": "Time limits",
    "store-policy": "Store policy and unfair practices",
    "data-protection": "Data protection (UK GDPR, DPA 2018)",
    "equality": "Equality Act 2010",
    "product-liability": "Product liability (CPA 1987)",
    "complaints": "Complaints procedure",
    "referral": "Referral",
    "recording": "Recording interactions",
    "communication": "Communication",
    "customer-types": "Customer types",
    "satisfaction": "Customer satisfaction",
    "additional-needs": "Additional needs",
    "procedures": "Organisational procedures",
}


class Criterion(Frozen):
    """An assessment criterion of one of the three units."""

    code: CriterionCode
    unit: Literal["POST", "Y/504/6243", "A/500/7158"]
    title: Text
    evidence: Literal["simulation", "practice"]

    @model_validator(mode="after")
    def _unit_matches_code(self) -> Criterion:
        if not self.code.startswith(self.unit + ":"):
            raise ValueError(f"criterion {self.code} does not belong to unit {self.unit}")
        return self


class Entry(Frozen):
    """One knowledge-base entry: a rule of law or of good practice, with its source."""

    id: Id
    title: Annotated[str, Field(min_length=3, max_length=120)]
    law: Text
    section: str | None
    topic: Topic
    summary: Annotated[str, Field(min_length=20, max_length=600)]
    key_points: Annotated[
        tuple[Annotated[str, Field(min_length=3, max_length=200)], ...],
        Field(min_length=1, max_length=8),
    ]
    source: Annotated[str, Field(pattern=r"^https://\S+$")]
    tags: tuple[Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9 .'-]*$")], ...] = ()
    criteria: Annotated[tuple[CriterionCode, ...], Field(min_length=1)]

    @model_validator(mode="after")
    def _law_has_section(self) -> Entry:
        if self.law != "Best practice" and not self.section:
            raise ValueError("a legal entry must cite its section (e.g. 's.22', 'Art. 12(3)')")
        return self

    @field_validator("section", "summary", "key_points")
    @classmethod
    def _entry_citations(cls, value: Any, info: ValidationInfo) -> Any:
        """Citations in the checked format, each belonging to a law (by default the entry's)."""
        law_name = str(info.data.get("law", ""))
        if info.field_name == "section" and value:
            citations.check_section(value, law_name)
        elif info.field_name != "section":
            law = citations.find_law(law_name)
            for text in (value,) if isinstance(value, str) else value:
                citations.check(text, law, need_law=True)
        return value

    @property
    def citation(self) -> str:
        """Law and section, e.g. 'Consumer Rights Act 2015 s.22'."""
        return f"{self.law} {self.section}" if self.section else self.law


def _compile(value: Any, info: ValidationInfo) -> Pattern:
    if isinstance(value, Pattern):
        return value
    if not isinstance(value, str) or not value.strip():
        raise ValueError("a pattern must be a non-empty string")
    lexicon: Mapping[str, Sequence[str]] = (info.context or {}).get("lexicon", {})
    try:
        return compile_pattern(value, lexicon)
    except PatternError as error:
        raise ValueError(str(error)) from None


CompiledPattern = Annotated[Pattern, BeforeValidator(_compile)]


class Concept(Frozen):
    """Something an answer must say, in any of its accepted forms."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    id: Id
    label: Text
    patterns: Annotated[tuple[CompiledPattern, ...], Field(min_length=1)]
    partial_credit: bool = False
    """For optional concepts: saying only this still earns a partial verdict."""
    case_values: tuple[Literal["name", "reference", "product", "price", "payment"], ...] = ()
    """In a scenario step, the case's own value counts too: a brief that says "Gary Mitchell,
    ref CMP-9021" passes on the customer's name and the reference."""


class ConceptGroup(Frozen):
    """'Any N of' these concepts."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    id: Id
    label: Text
    need: Annotated[int, Field(ge=1)]
    concepts: Annotated[tuple[Concept, ...], Field(min_length=1)]

    @model_validator(mode="after")
    def _enough_concepts(self) -> ConceptGroup:
        if self.need > len(self.concepts):
            raise ValueError(f"needs {self.need} of only {len(self.concepts)} concepts")
        return self


class ForbiddenClaim(Frozen):
    """A wrong claim (misconception); stating it makes the answer incorrect."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    id: Id
    patterns: Annotated[tuple[CompiledPattern, ...], Field(min_length=1)]
    feedback: Cited
    unless: tuple[Id, ...] = ()
    """Concept ids: the claim does not count when any of these is also present."""
    not_after: tuple[Annotated[str, Field(min_length=2)], ...] = ()
    """Words that cancel the claim when they come up to three words before it
    ("personalised t-shirts" is not the wrong claim "t-shirts")."""


class TrueFact(Frozen):
    """A true statement of the law with its figure (facts.yaml): a figure said inside it is
    right whatever question it comes up in ("…refunded within 14 days" in an answer about the
    30-day right to reject), so the figure checks leave it alone. Never a concept: it earns no
    credit, it only keeps a true extra from being marked wrong."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    id: Id
    patterns: Annotated[tuple[CompiledPattern, ...], Field(min_length=1)]
    rule: Cited
    """The rule in words, with its section."""
    source: Annotated[str, Field(pattern=r"^https://\S+$")]


class SharedClaim(ForbiddenClaim):
    """A wrong claim or harmful practice checked in every answer it can apply to (claims.yaml),
    whether or not the question's rubric thought of it.

    It applies to questions of `topics` (all when empty). In a scenario step, `channels`,
    `max_days` and `min_days` restrict it to cases that fit ("too late for a refund" is wrong
    only within 30 days); `case_only` claims are not checked in bank questions. A rubric that
    teaches the claim as right lists its id under `allows`.
    """

    topics: tuple[Topic, ...] = ()
    entries: tuple[Id, ...] = ()
    """Only for questions resting on one of these knowledge entries (e.g. the acknowledge
    stage of the complaints procedure)."""
    case_only: bool = False
    """Checked only in scenario steps (its conditions need a case's facts)."""
    channels: tuple[str, ...] = ()
    max_days: Annotated[int, Field(ge=0)] | None = None
    min_days: Annotated[int, Field(ge=0)] | None = None
    unless_said: tuple[CompiledPattern, ...] = ()
    """Phrases that show the answer knows the exception ("…if the request is manifestly
    unfounded"): with one of them present the claim does not count."""
    source: Annotated[str, Field(pattern=r"^https://\S+$")]
    """Where the rule is written (legislation.gov.uk, the regulator's guidance)."""

    def applies_to(self, topic: str, entries: Sequence[str]) -> bool:
        """Whether the claim is checked in questions of this topic resting on these entries."""
        return (not self.topics or topic in self.topics) and (
            not self.entries or bool(set(self.entries) & set(entries))
        )

    def fits(self, case: CaseContext | None) -> bool:
        """Whether the case (None for a bank question) meets the claim's conditions; a
        condition the case cannot answer (no known date) is not met."""
        if case is None:
            return not self.case_only
        if self.channels and case.channel not in self.channels:
            return False
        if self.max_days is not None or self.min_days is not None:
            if case.days_since is None:
                return False
            if self.max_days is not None and case.days_since > self.max_days:
                return False
            if self.min_days is not None and case.days_since < self.min_days:
                return False
        return True


# Words too common to show two clauses are about the same thing (stems).
_COMMON_STEMS = frozenset(
    {"within", "after", "befor", "from", "that", "this", "have", "your", "their", "will",
     "must", "with", "they", "them", "what", "when", "which", "week", "month", "year", "hour",
     "days", "more", "than", "also", "only", "into", "onto", "about"}
)  # fmt: skip


_UNIT_STEMS = frozenset({"day", "week", "month", "year", "hour", "%", "percent"})


def figure_unit(stems: Sequence[str], position: int) -> str:
    """The unit after the number at `position` ("day", "month", "%"), or ""."""
    following = stems[position + 1] if position + 1 < len(stems) else ""
    return following if following in _UNIT_STEMS else ""


def _content_words(stems: Sequence[str]) -> set[str]:
    return {w for w in stems if len(w) >= 4 and w not in _COMMON_STEMS and not w.isdigit()}


@dataclass(frozen=True)
class CaseContext:
    """What a scenario step's answer is marked against besides its question: the case.

    Numbers and durations in `texts` (the customer's line, the task, the case card) may be
    repeated back; `channel` and `days_since` decide which shared claims are wrong here.
    """

    texts: tuple[str, ...] = ()
    channel: str = ""
    days_since: int | None = None
    facts: Mapping[str, str] = dataclass_field(default_factory=dict)
    values: Mapping[str, str] = dataclass_field(default_factory=dict)
    """The case card's values by name (name, reference, product, price, payment)."""
    taught_texts: tuple[tuple[str, str], ...] = ()
    """The scenario's questions as (task and basis, model answer): a reply may repeat a figure
    another step of the same case teaches ("6 years to claim"), about the same thing."""

    @cached_property
    def taught(self) -> Mapping[tuple[int, str], frozenset[str]]:
        """Each figure the model answers use (a number and its unit, "" for none), with the
        words of its clause and its task."""
        words: dict[tuple[int, str], set[str]] = {}
        for task, answer in self.taught_texts:
            asked = _content_words(tokenize_cached(task).stems)
            tokens = tokenize_cached(answer)
            start = 0
            for end in range(1, len(tokens) + 1):
                if end < len(tokens) and tokens.breaks[end] == NO_BREAK:
                    continue
                clause = tokens.stems[start:end]
                for at, w in enumerate(clause):
                    if w.isdigit():
                        key = (int(w), figure_unit(clause, at))
                        words.setdefault(key, set()).update(_content_words(clause), asked)
                start = end
        return {n: frozenset(ws) for n, ws in words.items()}

    @cached_property
    def numbers(self) -> frozenset[int]:
        found = {int(n) for text in self.texts for n in re.findall(r"\d+", text)}
        found.update(n for text in self.texts for n in _number_words(text))
        return frozenset(found)

    @cached_property
    def duration_keys(self) -> frozenset[tuple[int, str]]:
        return frozenset(d.key for text in self.texts for d in durations(tokenize_cached(text)))


class Figures(Frozen):
    """Durations an answer may state; any other duration is a wrong legal fact."""

    allowed: Annotated[tuple[str, ...], Field(min_length=1)]
    feedback: Cited

    @field_validator("allowed")
    @classmethod
    def _each_is_a_duration(cls, values: tuple[str, ...]) -> tuple[str, ...]:
        for value in values:
            if len(durations(tokenize(value))) != 1:
                raise ValueError(f"{value!r} is not one duration like '30 days' or '72 hours'")
        return values

    def allowed_keys(self) -> frozenset[tuple[int, str]]:
        return frozenset(durations(tokenize(v))[0].key for v in self.allowed)


class Law(Frozen):
    """A law learners may name; `mentions` find it in an answer."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    id: Id
    name: Text
    year: int | None = None
    family: Id | None = None
    """Laws of one family stand together (UK GDPR, DPA 2018 and the DUAA 2025)."""
    mentions: Annotated[tuple[CompiledPattern, ...], Field(min_length=1)]
    replaced_by: str | None = None
    """For a superseded law: what replaced it (naming it is always wrong)."""


class LawMention(Frozen):
    """A law the marker watches for in answers to one question, and whether it fits."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    law: Law
    fits: bool


class Rubric(Frozen):
    """How a free-text answer is marked: data, not code."""

    required: tuple[Concept, ...] = ()
    groups: tuple[ConceptGroup, ...] = ()
    optional: tuple[Concept, ...] = ()
    """Worth noticing (reported as found, usable in `unless`), but not needed for credit."""
    forbidden: tuple[ForbiddenClaim, ...] = ()
    order: tuple[Id, ...] = ()
    order_feedback: str = "The steps are in the wrong order."
    figures: Figures | None = None
    common: tuple[Id, ...] = ()
    """Ids of shared misconceptions (misconceptions.yaml) that also count as forbidden."""
    laws: tuple[Id, ...] = ()
    """Ids (laws.yaml) that may also be named, beyond the laws of the question's entries."""
    allows: tuple[Id, ...] = ()
    """Ids of shared claims (claims.yaml) that are right for this question, so not checked."""
    law_mentions: tuple[LawMention, ...] = ()
    """Filled in by the loader from laws.yaml: which laws to watch for and which fit."""

    @model_validator(mode="before")
    @classmethod
    def _add_common_misconceptions(cls, data: Any, info: ValidationInfo) -> Any:
        if not isinstance(data, dict) or not data.get("common"):
            return data
        shared: Mapping[str, Any] = (info.context or {}).get("misconceptions", {})
        claims = list(data.get("forbidden") or [])
        for name in data["common"]:
            if name not in shared:
                raise ValueError(f"unknown common misconception {name!r}")
            claims.append(shared[name])
        return {**data, "forbidden": claims}

    @model_validator(mode="after")
    def _references_resolve(self) -> Rubric:
        if not self.required and not self.groups:
            raise ValueError("a rubric needs at least one required concept or group")
        known = self.concept_ids()
        claim_ids = [claim.id for claim in self.forbidden]
        if len(set(claim_ids)) != len(claim_ids):
            raise ValueError("forbidden claim ids must be unique (check 'common' too)")
        seen: set[str] = set()
        for concept_id in [c.id for c in self.all_concepts()]:
            if concept_id in seen:
                raise ValueError(f"concept id {concept_id!r} is used twice")
            seen.add(concept_id)
        for claim in self.forbidden:
            for name in claim.unless:
                if name not in known:
                    raise ValueError(f"forbidden {claim.id!r}: unknown concept {name!r} in unless")
        for name in self.order:
            if name not in known:
                raise ValueError(f"order names unknown concept {name!r}")
        return self

    def all_concepts(self) -> list[Concept]:
        return [*self.required, *(c for g in self.groups for c in g.concepts), *self.optional]

    def concept_ids(self) -> set[str]:
        return {c.id for c in self.all_concepts()}


class Example(Frozen):
    """A sample answer with the verdict a tutor gives it; `coach content check` marks it."""

    answer: Text
    verdict: Literal["correct", "partial", "incorrect"]


class Option(Frozen):
    text: Annotated[str, Field(min_length=1, max_length=POLL_OPTION_MAX)]
    correct: bool = False
    explanation: Cited | None = None
    """Why this option is wrong (shown after a wrong choice); required for wrong options."""


class QuestionBase(Frozen):
    model_config = ConfigDict(arbitrary_types_allowed=True)

    id: Id
    prompt: Annotated[str, Field(min_length=5, max_length=MESSAGE_MAX // 2)]
    topic: Topic
    entries: Annotated[tuple[Id, ...], Field(min_length=1)]
    criteria: Annotated[tuple[CriterionCode, ...], Field(min_length=1)]
    basis: Cited
    """The law or practice it rests on, cited in feedback: 'Consumer Rights Act 2015 s.22'."""
    model_answer: Cited
    hint: Text
    core: bool = False
    examples: tuple[Example, ...] = ()

    @model_validator(mode="after")
    def _citations_name_their_law(self) -> QuestionBase:
        """Every citation belongs to a law: one named before it, or else the basis's law."""
        law = citations.find_law(self.basis)
        texts: list[str | None] = [self.basis, self.model_answer]
        texts += [getattr(self, name, None) for name in ("explanation", "wrong_feedback")]
        texts += [o.explanation for o in getattr(self, "options", ())]
        rubric: Rubric | None = getattr(self, "rubric", None)
        if rubric is not None:
            texts += [c.feedback for c in rubric.forbidden]
            texts += [rubric.figures.feedback] if rubric.figures else []
        for text in texts:
            if text:
                try:
                    citations.check(text, law, need_law=True)
                except citations.CitationError as error:
                    raise ValueError(f"{error} in {text[:60]!r}") from None
        return self


_CITATION_RE = re.compile(
    r"\b(?:ss?\.|sections?|regs?\.|regulations?|arts?\.|articles?)\s*"
    r"(\d+(?:\([^)]*\))*(?:\s*(?:[-–,]|and|to)\s*\d+(?:\([^)]*\))*)*)",
    re.IGNORECASE,
)


def _section_numbers(text: str) -> set[int]:
    """The section numbers in '9-11', '19(14)-(15)', '20, 24': ranges expanded."""
    text = re.sub(r"\([^)]*\)", "", text)
    numbers: set[int] = set()
    for low, high in re.findall(r"(\d+)\s*[-–]\s*(\d+)", text):
        if int(high) - int(low) <= 60:
            numbers.update(range(int(low), int(high) + 1))
    numbers.update(int(n) for n in re.findall(r"\d+", text))
    return numbers


def _cited_numbers(text: str) -> set[int]:
    """Numbers a text cites as sections ("CRA 2015 ss.9-11", "reg. 34", "Art. 33")."""
    return {n for match in _CITATION_RE.finditer(text) for n in _section_numbers(match.group(1))}


class TextQuestion(QuestionBase):
    """A free-text question marked by its rubric."""

    type: Literal["text"]
    rubric: Rubric
    _known_numbers: frozenset[int] = PrivateAttr(default=frozenset())
    _sections: frozenset[int] = PrivateAttr(default=frozenset())
    _shared_claims: tuple[SharedClaim, ...] = PrivateAttr(default=())
    _true_facts: tuple[TrueFact, ...] = PrivateAttr(default=())
    _taught_pairs: frozenset[tuple[str, str]] = PrivateAttr(default=frozenset())
    _taught_words: frozenset[str] = PrivateAttr(default=frozenset())

    def model_post_init(self, context: Any, /) -> None:
        """Collect the numbers this question's own texts use (see `known_numbers`)."""
        del context
        texts = [self.prompt, self.model_answer, self.basis, self.hint]
        texts += [p.source for c in self.rubric.all_concepts() for p in c.patterns]
        if self.rubric.figures is not None:
            texts += list(self.rubric.figures.allowed)
        numbers = {int(n) for text in texts for n in re.findall(r"\d+", text)}
        numbers.update(n for t in texts for n in _number_words(t))
        self._known_numbers = frozenset(numbers | {0, 1})
        self._sections = frozenset(_cited_numbers(self.basis) | _cited_numbers(self.model_answer))

    @property
    def known_numbers(self) -> frozenset[int]:
        """Numbers an answer may state: those in the prompt, model answer, basis and rubric,
        and (once loaded) in the knowledge entries the question rests on."""
        return self._known_numbers

    def with_facts_from(self, entries: Sequence[Entry]) -> TextQuestion:
        """A copy that also accepts the numbers its entries state ("there are 7 principles")."""
        texts = [text for e in entries for text in (e.summary, *e.key_points)]
        numbers = {int(n) for text in texts for n in re.findall(r"\d+", text)}
        numbers.update(n for t in texts for n in _number_words(t))
        copy = self.model_copy()
        copy._known_numbers = self._known_numbers | numbers
        sections = {n for e in entries if e.section for n in _section_numbers(e.section)}
        copy._sections = self._sections | frozenset(sections)
        taught = [*texts, *(e.title for e in entries), self.model_answer]
        copy._taught_pairs = frozenset(pair for text in taught for pair in _word_pairs(text))
        copy._taught_words = frozenset(w for text in taught for w in tokenize_cached(text).stems)
        return copy

    def applied_to_case(
        self,
        applied: Sequence[Concept],
        model_answer: str | None = None,
        examples: Sequence[Example] = (),
    ) -> TextQuestion:
        """This question as a scenario step asks it: the rule applied to the case.

        A copy that also requires the step's `applied` concepts ("she is still inside the 14
        days") and uses the step's own model answer and examples. It keeps the id (progress
        and stats stay per question) and everything the loader attached (laws, shared claims,
        true facts, known numbers, sections, taught words)."""
        rubric = self.rubric.model_copy(update={"required": (*self.rubric.required, *applied)})
        update: dict[str, Any] = {"rubric": rubric}
        if model_answer:
            update["model_answer"] = model_answer
        if examples:
            update["examples"] = tuple(examples)
        copy = self.model_copy(update=update)
        texts = [model_answer or "", *(p.source for c in applied for p in c.patterns)]
        numbers = {int(n) for text in texts for n in re.findall(r"\d+", text)}
        numbers.update(n for t in texts for n in _number_words(t))
        copy._known_numbers = self._known_numbers | numbers
        if model_answer:
            copy._sections = self._sections | frozenset(_cited_numbers(model_answer))
            copy._taught_pairs = self._taught_pairs | frozenset(_word_pairs(model_answer))
            copy._taught_words = self._taught_words | frozenset(
                tokenize_cached(model_answer).stems
            )
        return copy

    @property
    def taught_words(self) -> frozenset[str]:
        """Every word (stem) its entries and model answer use."""
        return self._taught_words

    @property
    def taught_pairs(self) -> frozenset[tuple[str, str]]:
        """Pairs of neighbouring words (stems) in what its entries and model answer teach: an
        extra clause made of them ("free of charge", "the customer can choose") is known."""
        return self._taught_pairs

    def with_shared_claims(
        self, claims: Sequence[SharedClaim], facts: Sequence[TrueFact] = ()
    ) -> TextQuestion:
        """A copy that also checks the shared claims that apply to its topic, and knows the
        true facts whose figures are never wrong."""
        copy = self.model_copy()
        copy._shared_claims = tuple(
            claim
            for claim in claims
            if claim.applies_to(self.topic, self.entries) and claim.id not in self.rubric.allows
        )
        copy._true_facts = tuple(facts)
        return copy

    @property
    def true_facts(self) -> tuple[TrueFact, ...]:
        """True statements of the law (facts.yaml) whose figures the figure checks accept."""
        return self._true_facts

    @property
    def shared_claims(self) -> tuple[SharedClaim, ...]:
        """Shared wrong claims and harmful practices checked in this question's answers."""
        return self._shared_claims

    @property
    def cited_sections(self) -> frozenset[int]:
        """Section, regulation and article numbers of the law this question rests on (from its
        basis, model answer and entries); empty for a best-practice question."""
        return self._sections


class ChoiceQuestion(QuestionBase):
    """Single choice (exactly one correct option) or multiple choice (one or more)."""

    type: Literal["single", "multiple"]
    options: Annotated[tuple[Option, ...], Field(min_length=2, max_length=10)]
    explanation: Annotated[Cited, Field(max_length=POLL_EXPLANATION_MAX)]
    """Shown after answering (a quiz poll's explanation): cites the law."""

    @model_validator(mode="after")
    def _options_consistent(self) -> ChoiceQuestion:
        correct = [o for o in self.options if o.correct]
        if self.type == "single" and len(correct) != 1:
            raise ValueError("a single-choice question needs exactly one correct option")
        if self.type == "multiple" and not correct:
            raise ValueError("a multiple-choice question needs at least one correct option")
        for option in self.options:
            if not option.correct and not option.explanation:
                raise ValueError(f"wrong option {option.text!r} needs an explanation")
        texts = [o.text.lower() for o in self.options]
        if len(set(texts)) != len(texts):
            raise ValueError("options must differ")
        if self.explanation.count("\n") > POLL_EXPLANATION_LINE_FEEDS:
            raise ValueError("explanation may have at most 2 line feeds (Telegram quiz polls)")
        return self

    _shared_claims: tuple[SharedClaim, ...] = PrivateAttr(default=())

    def with_shared_claims(self, claims: Sequence[SharedClaim]) -> ChoiceQuestion:
        """A copy that also checks what a typed reply says beside its choice ("B, as long as he
        has the receipt") against the shared wrong claims of its topic."""
        copy = self.model_copy()
        copy._shared_claims = tuple(c for c in claims if c.applies_to(self.topic, self.entries))
        return copy

    @property
    def shared_claims(self) -> tuple[SharedClaim, ...]:
        return self._shared_claims

    def options_texts(self) -> list[str]:
        return [o.text for o in self.options]

    @property
    def correct_indexes(self) -> frozenset[int]:
        return frozenset(i for i, o in enumerate(self.options) if o.correct)

    def fits_quiz_poll(self) -> bool:
        """Whether Telegram can show it as a native quiz poll (single choice, within limits)."""
        return self.type == "single" and len(self.prompt) <= POLL_QUESTION_MAX


class OrderQuestion(QuestionBase):
    """Put the items in order; `items` are written in the correct order. `either_order` lists
    runs of neighbouring steps (1-based, as written) that may come in any order among
    themselves, where good practice allows both ("log it" and "confirm identity")."""

    type: Literal["order"]
    items: Annotated[
        tuple[Annotated[str, Field(max_length=POLL_OPTION_MAX)], ...],
        Field(min_length=3, max_length=8),
    ]
    either_order: tuple[tuple[int, ...], ...] = ()

    @model_validator(mode="after")
    def _runs_of_neighbours(self) -> OrderQuestion:
        used: set[int] = set()
        for run in self.either_order:
            steps = sorted(run)
            if len(steps) < 2 or steps != list(range(steps[0], steps[0] + len(steps))):
                raise ValueError(f"either_order {list(run)}: give two or more neighbouring steps")
            if steps[0] < 1 or steps[-1] > len(self.items):
                raise ValueError(f"either_order {list(run)}: steps are 1 to {len(self.items)}")
            if used.intersection(steps):
                raise ValueError(f"either_order {list(run)}: a step is in two runs")
            used.update(steps)
        return self

    def rank(self, item: int) -> int:
        """The item's place in the order, shared by the steps of one `either_order` run."""
        for run in self.either_order:
            if item + 1 in run:
                return min(run) - 1
        return item


class NumericQuestion(QuestionBase):
    """A number, usually a duration such as '14 days'; equivalent forms are accepted."""

    type: Literal["numeric"]
    answer: Text
    """The expected value as written, e.g. '14 days', '72 hours', '6 years', '100'."""
    wrong_feedback: Cited
    _law_mentions: tuple[LawMention, ...] = PrivateAttr(default=())
    _sections: frozenset[int] = PrivateAttr(default=frozenset())
    _shared_claims: tuple[SharedClaim, ...] = PrivateAttr(default=())

    def with_checks(
        self,
        mentions: tuple[LawMention, ...],
        entries: Sequence[Entry],
        claims: Sequence[SharedClaim],
    ) -> NumericQuestion:
        """A copy that also checks what an answer says beside its figure: the law named, the
        section cited and the shared wrong claims of its topic."""
        copy = self.model_copy()
        copy._law_mentions = mentions
        sections = {n for e in entries if e.section for n in _section_numbers(e.section)}
        copy._sections = frozenset(sections | _cited_numbers(self.basis))
        copy._shared_claims = tuple(c for c in claims if c.applies_to(self.topic, self.entries))
        return copy

    @property
    def law_mentions(self) -> tuple[LawMention, ...]:
        return self._law_mentions

    @property
    def cited_sections(self) -> frozenset[int]:
        return self._sections

    @property
    def shared_claims(self) -> tuple[SharedClaim, ...]:
        return self._shared_claims

    @field_validator("answer")
    @classmethod
    def _parses(cls, value: str) -> str:
        tokens = tokenize(value)
        if len(durations(tokens)) != 1 and not (len(tokens) == 1 and tokens.stems[0].isdigit()):
            raise ValueError(f"{value!r} is not a number or a duration like '14 days'")
        return value


Question = Annotated[
    TextQuestion | ChoiceQuestion | OrderQuestion | NumericQuestion, Field(discriminator="type")
]
AnyQuestion = TextQuestion | ChoiceQuestion | OrderQuestion | NumericQuestion


@lru_cache(maxsize=4096)
def _word_pairs(text: str) -> frozenset[tuple[str, str]]:
    stems = tokenize(text).stems
    return frozenset(pairwise(stems))


@lru_cache(maxsize=4096)
def _number_words(text: str) -> frozenset[int]:
    """Numbers a text states, in digits or words ("seven principles")."""
    tokens = tokenize(text)
    return frozenset(int(word) for word in tokens.stems if word.isdigit())


class Quiz(Frozen):
    """A named set of questions a tutor can push or a learner can take."""

    # Short: the id travels in Telegram button data (64 bytes at most).
    id: Annotated[str, Field(pattern=ID_RE, max_length=40)]
    title: Annotated[str, Field(min_length=3, max_length=80)]
    description: Text
    questions: Annotated[tuple[Id, ...], Field(min_length=1, max_length=30)]


class Verdict(Frozen):
    """The result of marking one answer."""

    question_id: str
    outcome: Literal["correct", "partial", "incorrect"]
    score: Annotated[float, Field(ge=0.0, le=1.0)]
    found: tuple[str, ...]
    missing: tuple[str, ...]
    misconceptions: tuple[str, ...]
    feedback: str
    refs: tuple[str, ...]
    review: bool = False
    """The marker met something it does not recognise (a condition, an item, a claim): the
    verdict is provisional and the answer goes to a tutor."""
    unrecognised: tuple[str, ...] = ()
    """What it did not recognise, quoted from the answer."""
