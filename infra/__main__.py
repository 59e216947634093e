"""eventlens on AWS: ``pulumi up -s dev`` from the repository root (see docs/deploy.md)."""

import sys
from pathlib import Path

# Pulumi runs this file with infra/ as the program directory; the package lives one level up.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import pulumi  # noqa: E402

from eventlens_tools.build import build_artifacts  # noqa: E402
from infra.config import ROOT, StackConfig  # noqa: E402
from infra.stack import deploy  # noqa: E402

# Zips are rebuilt on every run (reproducible, so unchanged code deploys nothing); the dependency
# layer needs PyPI the first time and is cached in dist/.cache after that.
artifacts = build_artifacts(
    ROOT / "dist",
    with_deps=pulumi.Config("eventlens").get_bool("buildDependencies") is not False,
    out=sys.stdout,
)
deploy(StackConfig.from_pulumi(), artifacts)
