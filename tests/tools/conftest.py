"""Fixtures of the tooling tests. The ML pipeline's (generated shoppers in a real chDB database and
the state machine's first run over them) come from tests/ml, so the re-run tests here start from
the same state the pipeline tests do."""

from tests.ml.conftest import first_run, ml_parts, served, shopper_rows  # noqa: F401 - fixtures
