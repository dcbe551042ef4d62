"""Serve one app from two workers forked after it was built, as gunicorn
`--preload` does: `python -m tests.support.preforked ROOT PORT PORT`.

The parent makes a pid before forking, so that its node is named before the
workers exist.
"""

from __future__ import annotations

import os
import sys

import uvicorn

from nova_cli import process
from nova_cli.runtime import create_app


def main() -> None:
    root, ports = sys.argv[1], [int(port) for port in sys.argv[2:]]
    app = create_app(root=root)
    print("parent node", process.self().node, flush=True)
    workers = []
    for port in ports:
        child = os.fork()
        if child == 0:
            uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")
            os._exit(0)
        workers.append(child)
    for child in workers:
        os.waitpid(child, 0)


if __name__ == "__main__":
    main()
