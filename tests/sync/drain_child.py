"""Run one sync of a node from its instance folder, in its own process (killed by the test).

Usage: python -m tests.sync.drain_child INSTANCE HUB_URL ISO_TIME
"""

from __future__ import annotations

import sys
from datetime import datetime

from commune_node import create_app
from commune_node.scheduler import run_sync
from commune_node.services import notify_sync
from commune_node.transport import HttpTransport


def main() -> None:
    instance, url, when = sys.argv[1:4]
    notify_sync.BATCH = 1  # one message per request: the kill lands between hand-overs
    fixed = datetime.fromisoformat(when)
    app = create_app(
        {
            "SECRET_KEY": "test",
            "CLOCK": lambda: fixed,
            "SYNC_TRANSPORT": lambda: HttpTransport(url),
        },
        instance_path=instance,
    )
    print("syncing", flush=True)
    run_sync(app)
    print("done", flush=True)


if __name__ == "__main__":
    main()
