"""The memory search's tests: the planted life stories in a warehouse of their own, mined into the real
Neo4j (the one scripts/test.sh started, or one started here as for tests/mining)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from eventlens.components import Components
from eventlens.memory.findings import Sources
from eventlens.mining.miner import MiningRequest, mine_active_users
from eventlens.settings import Settings
from eventlens_tools.lifestories import LifeStory, generate_life_stories, warehouse_rows
from eventlens_tools.memory_eval import NOW
from tests.conftest import isolated_settings, opened_components, session_server


@pytest.fixture(scope="session")
def neo4j_uri() -> Iterator[str]:
    """The real Neo4j: the one scripts/test.sh started, or one started here for this session."""
    with session_server("neo4j", os.environ.get("EVENTLENS_TEST_NEO4J"), "bolt://127.0.0.1:{port}") as uri:
        yield uri


@dataclass(frozen=True)
class Planted:
    """The life stories stored and mined: where they are, and the sources to answer from."""

    parts: Components
    project_id: str
    stories: list[LifeStory]

    def sources(self, with_graph: bool) -> Sources:
        return Sources(self.parts.warehouse, self.parts.graph if with_graph else None, self.parts.settings)


@pytest.fixture(scope="module")
def planted(tmp_path_factory: pytest.TempPathFactory, chdb_dir: Path, neo4j_uri: str) -> Iterator[Planted]:
    """The three planted persons stored in a project of their own (the test graph is shared by the
    session) and mined into the graph as the nightly run would at ``NOW``."""
    home = tmp_path_factory.mktemp("memory") / "home"
    settings: Settings = isolated_settings(home, chdb_dir).model_copy(update={"neo4j_uri": neo4j_uri})
    with opened_components(settings) as parts:
        project_id = f"prj_memory{uuid.uuid4().hex[:10]}"
        stories = generate_life_stories(NOW)
        parts.warehouse.insert_arrow("events", warehouse_rows(stories, project_id))
        assert parts.graph is not None
        mine_active_users(parts.warehouse, parts.graph, settings, MiningRequest(all_users=True), NOW)
        yield Planted(parts, project_id, stories)
