"""The content the bot serves: the knowledge base and the scenarios, loaded and validated once
and cached between starts (`knowledge.cache`)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import flows
import knowledge
from flows.loader import SCENARIO_DIR, ScenarioContent, load_scenarios
from knowledge.cache import load_cached, source_key
from knowledge.loader import CONTENT_DIR, KnowledgeBase, load_knowledge_base

# The code that reads the content and defines what a load builds: a change to it is a change
# to the cached result.
CODE = (
    *sorted(Path(knowledge.__file__).parent.glob("*.py")),
    *sorted(Path(flows.__file__).parent.glob("*.py")),
    Path(__file__),
)


@dataclass(frozen=True)
class Content:
    kb: KnowledgeBase
    scenarios: dict[str, ScenarioContent]


def load_content(
    scenario_dir: Path = SCENARIO_DIR,
    cache_dir: Path | None = None,
    content_dir: Path = CONTENT_DIR,
) -> Content:
    """Every content file loaded and validated (`ContentError` with file and line on the first
    problem), or the same content as the last successful load of exactly these files from
    `cache_dir` (None: no cache)."""

    def build() -> Content:
        kb = load_knowledge_base(content_dir)
        return Content(kb, load_scenarios(kb, scenario_dir))

    if cache_dir is None:
        return build()
    key = source_key([content_dir, scenario_dir, *CODE])
    return load_cached(cache_dir, key, build, Content)
