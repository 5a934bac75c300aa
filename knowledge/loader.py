"""Load and validate all content files into one read-only `KnowledgeBase`.

Any problem (YAML syntax, a schema error, a dangling reference, a duplicate id) raises
`ContentError` naming the file and line, so a content author never sees a bare traceback.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, TypeAdapter, ValidationError

from knowledge.models import (
    AnyQuestion,
    ChoiceQuestion,
    Criterion,
    Entry,
    ForbiddenClaim,
    Law,
    LawMention,
    NumericQuestion,
    Question,
    Quiz,
    SharedClaim,
    TextQuestion,
    TrueFact,
)
from knowledge.patterns import find
from knowledge.search import EntrySearch
from knowledge.text import tokenize

CONTENT_DIR = Path(__file__).parent / "content"
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_QUESTION_ADAPTER: TypeAdapter[AnyQuestion] = TypeAdapter(Question)
M = TypeVar("M", bound=BaseModel)


class ContentError(Exception):
    """Content that cannot be loaded; `str()` gives 'file:line: message'."""

    def __init__(self, path: Path, line: int | None, message: str) -> None:
        self.path = path
        self.line = line
        self.message = message
        where = f"{path}:{line}" if line is not None else str(path)
        super().__init__(f"{where}: {message}")


@dataclass(frozen=True, slots=True)
class Document:
    path: Path
    data: Any
    root: yaml.Node | None

    def line_of(self, location: Sequence[int | str]) -> int | None:
        """The 1-based line of the node at a pydantic error location."""
        node = self.root
        best = node.start_mark.line + 1 if node is not None else None
        for key in location:
            if isinstance(node, yaml.SequenceNode) and isinstance(key, int):
                if key >= len(node.value):
                    break
                node = node.value[key]
            elif isinstance(node, yaml.MappingNode) and isinstance(key, str):
                value = next((v for k, v in node.value if k.value == key), None)
                if value is None:
                    continue  # a union tag in the location, not a key in the file
                node = value
            else:
                break
            best = node.start_mark.line + 1
        return best


def read_document(path: Path) -> Document:
    """Parse a YAML file, keeping its node tree so errors can name a line."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise ContentError(path, None, f"cannot read file: {error}") from None
    try:
        # One pass with libyaml when available: the node tree (for line numbers) and the data.
        loader = _YAML_LOADER(text)
        try:
            root = loader.get_single_node()
            data = loader.construct_document(root) if root is not None else None
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = mark.line + 1 if mark is not None else None
        raise ContentError(path, line, f"YAML syntax error: {error.problem}") from None
    except yaml.YAMLError as error:
        raise ContentError(path, None, f"YAML error: {error}") from None
    duplicate = _duplicate_key(root)
    if duplicate is not None:
        key, line = duplicate
        # YAML keeps the last of two equal keys silently: a second `optional:` would drop the
        # first list of concepts without a word.
        raise ContentError(path, line, f"duplicate key {key!r} in one mapping")
    return Document(path, data, root)


def _duplicate_key(root: yaml.Node | None) -> tuple[str, int] | None:
    """The first key that appears twice in one mapping, with its line, or None."""
    todo = [root] if root is not None else []
    while todo:
        node = todo.pop()
        if isinstance(node, yaml.MappingNode):
            seen: set[str] = set()
            for key, value in node.value:
                if isinstance(key, yaml.ScalarNode):
                    if key.value in seen:
                        return key.value, key.start_mark.line + 1
                    seen.add(key.value)
                todo.append(value)
        elif isinstance(node, yaml.SequenceNode):
            todo.extend(node.value)
    return None


def describe_error(
    error: ValidationError, document: Document, *location: int | str
) -> ContentError:
    """A `ContentError` for the first validation error, at the line of the failing node."""
    first = error.errors()[0]
    location = (*location, *first["loc"])
    readable = ".".join(str(part) for part in first["loc"] if not _is_union_tag(part))
    field_note = f" (field {readable})" if readable else ""
    message = first["msg"].removeprefix("Value error, ")
    extra = len(error.errors()) - 1
    more = f" (+{extra} more error{'s' if extra > 1 else ''} in this item)" if extra else ""
    return ContentError(document.path, document.line_of(location), f"{message}{field_note}{more}")


def _is_union_tag(part: int | str) -> bool:
    return part in {"text", "single", "multiple", "order", "numeric"}


def _as_list(document: Document) -> list[Any]:
    if document.data is None:
        return []
    if not isinstance(document.data, list):
        raise ContentError(document.path, 1, "expected a list of items at the top level")
    return document.data


def _validate_list(
    document: Document, model: type[M], context: Mapping[str, Any] | None = None
) -> list[M]:
    items: list[M] = []
    for index, raw in enumerate(_as_list(document)):
        try:
            items.append(model.model_validate(raw, context=context))
        except ValidationError as error:
            raise describe_error(error, document, index) from None
    return items


def _load_lexicon(path: Path) -> dict[str, tuple[str, ...]]:
    document = read_document(path)
    data = document.data or {}
    if not isinstance(data, dict):
        raise ContentError(path, 1, "the lexicon must map class names to lists of phrases")
    lexicon: dict[str, tuple[str, ...]] = {}
    for name, phrases in data.items():
        line = document.line_of((str(name),))
        if not isinstance(name, str) or not name.replace("-", "").replace("_", "").isalnum():
            raise ContentError(path, line, f"bad class name {name!r}")
        if not isinstance(phrases, list) or not all(isinstance(p, str) and p for p in phrases):
            raise ContentError(path, line, f"class {name!r} must be a list of phrases")
        lexicon[name] = tuple(phrases)
    return lexicon


def _load_misconceptions(
    path: Path, lexicon: Mapping[str, Sequence[str]]
) -> dict[str, dict[str, Any]]:
    """Shared wrong claims by id, as raw data for rubrics that list them under `common`."""
    if not path.exists():
        return {}
    document = read_document(path)
    claims: dict[str, dict[str, Any]] = {}
    for index, claim in enumerate(
        _validate_list(document, ForbiddenClaim, context={"lexicon": lexicon})
    ):
        if claim.id in claims:
            raise ContentError(path, document.line_of((index,)), f"duplicate id {claim.id!r}")
        claims[claim.id] = _as_list(document)[index]
    return claims


def _load_shared_claims(
    path: Path,
    lexicon: Mapping[str, Sequence[str]],
    misconception_ids: set[str],
    entry_ids: set[str],
) -> list[SharedClaim]:
    """The shared claims, checked in every answer of the topics they name."""
    if not path.exists():
        return []
    document = read_document(path)
    claims = _validate_list(document, SharedClaim, context={"lexicon": lexicon})
    seen: set[str] = set()
    for index, claim in enumerate(claims):
        if claim.id in seen or claim.id in misconception_ids:
            where = "misconceptions.yaml" if claim.id in misconception_ids else "this file"
            raise ContentError(
                path, document.line_of((index,)), f"duplicate id {claim.id!r} (also in {where})"
            )
        seen.add(claim.id)
        unknown = set(claim.entries) - entry_ids
        if unknown:
            raise ContentError(
                path, document.line_of((index,)), f"unknown entry id(s): {sorted(unknown)}"
            )
    return claims


def _load_true_facts(path: Path, lexicon: Mapping[str, Sequence[str]]) -> list[TrueFact]:
    """True statements of the law whose figures are never wrong (facts.yaml)."""
    if not path.exists():
        return []
    document = read_document(path)
    facts = _validate_list(document, TrueFact, context={"lexicon": lexicon})
    seen: set[str] = set()
    for index, fact in enumerate(facts):
        if fact.id in seen:
            raise ContentError(path, document.line_of((index,)), f"duplicate id {fact.id!r}")
        seen.add(fact.id)
    return facts


@dataclass(frozen=True)
class KnowledgeBase:
    """All content, validated and cross-checked. Read-only and shared by everyone."""

    criteria: Mapping[str, Criterion]
    entries: Mapping[str, Entry]
    questions: Mapping[str, AnyQuestion]
    quizzes: Mapping[str, Quiz]
    lexicon: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    misconceptions: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    laws: tuple[Law, ...] = ()
    claims: tuple[SharedClaim, ...] = ()
    """Shared wrong claims and harmful practices (claims.yaml), checked in every answer."""
    facts: tuple[TrueFact, ...] = ()
    """True statements of the law (facts.yaml) whose figures are never marked wrong."""

    @cached_property
    def search(self) -> EntrySearch:
        """The ranked `/law` search over the entries (built once; at load for loaded content)."""
        return EntrySearch(self.entries.values(), self.lexicon)

    def validation_context(self) -> dict[str, Any]:
        """What rubric validation needs: the lexicon and the shared misconceptions."""
        return {"lexicon": self.lexicon, "misconceptions": self.misconceptions}

    def question(self, question_id: str) -> AnyQuestion | None:
        return self.questions.get(question_id)

    def entries_for(self, question: AnyQuestion) -> list[Entry]:
        return [self.entries[e] for e in question.entries]

    def citations(self, question: AnyQuestion) -> list[str]:
        """'Law section (entry id)' for each entry a question rests on."""
        return [f"{e.citation} ({e.id})" for e in self.entries_for(question)]


def _check_unique(items: Iterable[tuple[str, Path, int | None]], kind: str) -> None:
    seen: dict[str, Path] = {}
    for item_id, path, line in items:
        if item_id in seen:
            raise ContentError(
                path, line, f"duplicate {kind} id {item_id!r} (also in {seen[item_id]})"
            )
        seen[item_id] = path


def load_knowledge_base(content_dir: Path = CONTENT_DIR) -> KnowledgeBase:
    """Load every content file under `content_dir`; raise `ContentError` on the first problem."""
    criteria_path = content_dir / "criteria.yaml"
    criteria_doc = read_document(criteria_path)
    criteria = _validate_list(criteria_doc, Criterion)
    _check_unique(
        ((c.code, criteria_path, criteria_doc.line_of((i,))) for i, c in enumerate(criteria)),
        "criterion",
    )
    codes = {c.code for c in criteria}

    lexicon_path = content_dir / "lexicon.yaml"
    lexicon = _load_lexicon(lexicon_path) if lexicon_path.exists() else {}
    misconceptions = _load_misconceptions(content_dir / "misconceptions.yaml", lexicon)
    laws_path = content_dir / "laws.yaml"
    laws = (
        _validate_list(read_document(laws_path), Law, context={"lexicon": lexicon})
        if laws_path.exists()
        else []
    )
    context = {"lexicon": lexicon, "misconceptions": misconceptions}

    entries: dict[str, Entry] = {}
    entry_where: list[tuple[str, Path, int | None]] = []
    for path in sorted((content_dir / "entries").glob("*.yaml")):
        document = read_document(path)
        for index, entry in enumerate(_validate_list(document, Entry)):
            line = document.line_of((index,))
            entry_where.append((entry.id, path, line))
            _check_codes(entry.criteria, codes, path, line)
            entries[entry.id] = entry
        _check_unique(entry_where, "entry")

    claims = _load_shared_claims(
        content_dir / "claims.yaml", lexicon, set(misconceptions), set(entries)
    )
    facts = _load_true_facts(content_dir / "facts.yaml", lexicon)
    questions: dict[str, AnyQuestion] = {}
    question_where: list[tuple[str, Path, int | None]] = []
    for path in sorted((content_dir / "questions").glob("*.yaml")):
        document = read_document(path)
        for index, raw in enumerate(_as_list(document)):
            line = document.line_of((index,))
            question = build_question(
                raw,
                QuestionSources(codes, entries, laws, context, claims, facts),
                document,
                (index,),
            )
            question_where.append((question.id, path, line))
            _check_unique(question_where, "question")
            questions[question.id] = question

    quizzes: dict[str, Quiz] = {}
    quizzes_path = content_dir / "quizzes.yaml"
    if quizzes_path.exists():
        document = read_document(quizzes_path)
        for index, quiz in enumerate(_validate_list(document, Quiz)):
            line = document.line_of((index,))
            if quiz.id in quizzes:
                raise ContentError(quizzes_path, line, f"duplicate quiz id {quiz.id!r}")
            for question_id in quiz.questions:
                if question_id not in questions:
                    raise ContentError(
                        quizzes_path,
                        line,
                        f"quiz {quiz.id!r} refers to unknown question {question_id!r}",
                    )
            quizzes[quiz.id] = quiz

    kb = KnowledgeBase(
        criteria={c.code: c for c in criteria},
        entries=entries,
        questions=questions,
        quizzes=quizzes,
        lexicon=lexicon,
        misconceptions=misconceptions,
        laws=tuple(laws),
        claims=tuple(claims),
        facts=tuple(facts),
    )
    _ = kb.search  # build the /law index now, not on a learner's first search
    return kb


@dataclass(frozen=True)
class QuestionSources:
    """What building a question checks it against: criteria codes, entries, laws, rubric
    context (lexicon and shared misconceptions)."""

    criteria: set[str] | frozenset[str]
    entries: Mapping[str, Entry]
    laws: Sequence[Law]
    context: Mapping[str, Any]
    claims: Sequence[SharedClaim] = ()
    facts: Sequence[TrueFact] = ()

    @classmethod
    def of(cls, kb: KnowledgeBase) -> QuestionSources:
        return cls(
            frozenset(kb.criteria),
            kb.entries,
            kb.laws,
            kb.validation_context(),
            kb.claims,
            kb.facts,
        )


def build_question(
    raw: Any, sources: QuestionSources, document: Document, location: tuple[int | str, ...]
) -> AnyQuestion:
    """Validate one question (from the bank or written inline in a scenario step) and attach
    what marking needs: the laws to watch for and the numbers and sections of its entries.

    Bank questions and scenario steps go through this one function, so both get the same
    checks (known criteria and entries, laws and rubric law ids) and the same marking.
    """
    path = document.path
    line = document.line_of(location)
    if isinstance(raw, dict) and "type" not in raw:
        raise ContentError(
            path, line, "question has no 'type' (text, single, multiple, order, numeric)"
        )
    try:
        question = _QUESTION_ADAPTER.validate_python(raw, context=sources.context)
    except ValidationError as error:
        raise describe_error(error, document, *location) from None
    _check_codes(question.criteria, set(sources.criteria), path, line)
    for entry_id in question.entries:
        if entry_id not in sources.entries:
            raise ContentError(
                path, line, f"question {question.id!r} refers to unknown entry {entry_id!r}"
            )
    if isinstance(question, TextQuestion):
        unknown = set(question.rubric.laws) - {law.id for law in sources.laws}
        if unknown:
            raise ContentError(path, line, f"unknown law id(s) in rubric: {sorted(unknown)}")
        unknown_claims = set(question.rubric.allows) - {c.id for c in sources.claims}
        if unknown_claims:
            raise ContentError(
                path, line, f"unknown shared claim id(s) in allows: {sorted(unknown_claims)}"
            )
        question = with_law_mentions(
            question, [sources.entries[e] for e in question.entries], sources.laws
        ).with_shared_claims(sources.claims, sources.facts)
    elif isinstance(question, ChoiceQuestion):
        question = question.with_shared_claims(sources.claims)
    elif isinstance(question, NumericQuestion):
        entries = [sources.entries[e] for e in question.entries]
        question = question.with_checks(
            law_mentions_for(question.basis, entries, sources.laws), entries, sources.claims
        )
    return question


def with_law_mentions(
    question: TextQuestion, entries: Sequence[Entry], laws: Sequence[Law]
) -> TextQuestion:
    """Attach the laws to watch for: those the question rests on fit, others do not.

    A best-practice question (no law behind it) lets any current law be named as an example.
    """
    mentions = law_mentions_for(question.basis, entries, laws, question.rubric.laws)
    rubric = question.rubric.model_copy(update={"law_mentions": mentions})
    return question.model_copy(update={"rubric": rubric}).with_facts_from(entries)


def law_mentions_for(
    basis: str, entries: Sequence[Entry], laws: Sequence[Law], also: Iterable[str] = ()
) -> tuple[LawMention, ...]:
    """Every law, and whether it fits a question resting on `basis` and `entries`."""
    cited = " ".join([basis, *(e.law for e in entries if e.law != "Best practice")])
    cited_tokens = tokenize(cited)
    own = {
        law.id
        for law in laws
        if law.name in cited or any(find(p, cited_tokens) for p in law.mentions)
    }
    own.update(also)
    families = {law.family for law in laws if law.id in own and law.family}
    fitting = {law.id for law in laws if law.id in own or (law.family and law.family in families)}
    return tuple(
        LawMention(law=law, fits=law.replaced_by is None and (not own or law.id in fitting))
        for law in laws
    )


def _check_codes(used: Iterable[str], known: set[str], path: Path, line: int | None) -> None:
    for code in used:
        if code not in known:
            raise ContentError(path, line, f"criterion {code!r} is not in criteria.yaml")
