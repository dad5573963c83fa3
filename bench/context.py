"""What a scenario knows about its run (passed from the orchestrator to the worker as JSON)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field


@dataclass
class Context:
    scenario: str
    db: str
    variants: int
    site_url: str
    baseline_items: int
    samples: int | None = None  # health: requests per page; webhooks: burst size (None: the scenario's own)
    shards: int | None = None  # the catalog's shard_count for the sync scenarios (None: the scenario's own)
    extra: dict = field(default_factory=dict)  # what prepare() hands to run()/baseline()

    def dumps(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def loads(cls, text: str) -> Context:
        return cls(**json.loads(text))
