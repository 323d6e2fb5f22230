"""Entry point of the embedded service process: ``python -m orchestrator.embedded.server``.

Why our own entry point rather than ``moto_server``: the compatibility patches and the event hooks
must be applied inside the process that serves requests, and components (the data plane) run in
the same process. :mod:`orchestrator.embedded.process` starts this module in the background; run it
in the foreground to debug (``--port 4566 --state-dir /tmp/embedded``).

SIGTERM/SIGINT stop the HTTP server, then the components, and exit 0.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from types import FrameType

from orchestrator.embedded import DEFAULT_PORT

MODULE = "orchestrator.embedded.server"


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog=f"python -m {MODULE}", description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (loopback by default)")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"port to bind (default {DEFAULT_PORT})")
    parser.add_argument("--state-dir", type=Path, required=True, help="directory for runtime state")
    parser.add_argument("--component", action="append", default=[], metavar="MODULE:FACTORY",
                        help="extra component to host (repeatable)")
    parser.add_argument("--no-default-components", action="store_true",
                        help="host only the control plane and the --component ones")
    return parser.parse_args(argv)


def configure_moto(port: int) -> None:
    """Settings moto reads from the environment; must run before moto is imported.

    MOTO_PORT makes moto build URLs (queue URLs, API invoke URLs) with our port. AWS-managed IAM
    policies are not loaded (saves seconds at start-up; the stacks use their own policies) unless
    the caller already set MOTO_IAM_LOAD_MANAGED_POLICIES.
    """
    os.environ["MOTO_PORT"] = str(port)
    os.environ.setdefault("MOTO_IAM_LOAD_MANAGED_POLICIES", "false")
    # No Docker here: moto must not try to run Lambda code or pull images; our data plane does that.
    os.environ.setdefault("MOTO_LAMBDA_STUB_ECR", "true")


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    log = logging.getLogger(MODULE)
    configure_moto(args.port)
    args.state_dir.mkdir(parents=True, exist_ok=True)

    from moto.moto_server.werkzeug_app import MotoRequestHandler
    from werkzeug.serving import make_server

    from orchestrator.embedded.components import component_specs
    from orchestrator.embedded.service import Service, load_component

    specs = component_specs(args.component, include_defaults=not args.no_default_components)
    service = Service(args.host, args.port, args.state_dir.resolve(), [load_component(s) for s in specs])
    server = make_server(args.host, args.port, service, threaded=True, request_handler=MotoRequestHandler)
    service.start()

    def shutdown(signum: int, frame: FrameType | None) -> None:
        log.info("signal %d: shutting down", signum)
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, shutdown)
    signal.signal(signal.SIGINT, shutdown)
    log.info("embedded control plane ready on http://%s:%d (pid %d, components: %s)",
             args.host, args.port, os.getpid(), ", ".join(specs) or "none")
    try:
        server.serve_forever()
    finally:
        server.server_close()
        service.stop()
        log.info("stopped")
    return 0


if __name__ == "__main__":
    code = main()
    # Everything is stopped and flushed by now; skip the interpreter's teardown of moto's hundreds
    # of modules, which takes longer than the whole shutdown (and `down` waits for it).
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
