"""The local pipeline in a process where eventlens local is serving: each uses the components it was
handed, neither the other's."""

from __future__ import annotations

from eventlens.components import Components
from eventlens.keys import DEFAULT_PROJECT
from eventlens.ml.contracts import PipelineInput
from eventlens_tools.http_client import EventlensClient
from eventlens_tools.local.pipeline import run_pipeline
from eventlens_tools.local.runtime import LocalRuntime
from tests.conftest import TEST_SECRET_KEY
from tests.ml.conftest import LAST_DAY


def test_the_pipeline_runs_beside_a_serving_runtime_and_each_keeps_its_components(
    served: Components, components: Components
) -> None:
    # Given eventlens local serving the shoppers' home, where a model is promoted
    runtime = LocalRuntime(served.settings, port=0)
    runtime.start()
    client = EventlensClient(runtime.url, key=TEST_SECRET_KEY)
    try:
        # When the pipeline runs in the same process on other components, whose warehouse is empty
        request = PipelineInput(project_id=DEFAULT_PROJECT, until=LAST_DAY)
        run = run_pipeline(components.settings, request, parts=components)

        # Then its steps used the components handed to it: export found nothing, snapshot failed
        assert run.states[2:5] == ["Export", "Snapshot", "ProjectNotTrained"]
        assert run.states[-1] == "PipelineFailed"
        assert run.invocations == [("export", "ok"), ("export", "ok"), ("snapshot", "NotEnoughHistory")]
        # And the runtime still answers from its own: the shoppers' likeliest buyers
        status, body = client.get("/users", limit=3)
        assert status == 200 and len(body["users"]) == 3
    finally:
        client.close()
        runtime.stop()
