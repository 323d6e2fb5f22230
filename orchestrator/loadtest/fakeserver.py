"""A minimal, fast HTTP/1.1 server to check the generator itself (tests and the ceiling benchmark).

``python -m orchestrator.loadtest.fakeserver --port 0 [--mode ...]`` prints ``PORT <n>`` once
listening. Modes:
- ``fixed``  answer at once with a small JSON body (variant and label rotate: 3 x model-a : 1 x model-b)
- ``stall``  like fixed, but the server freezes ``--stall-ms`` at the start of every ``--stall-every``
             seconds: requests arriving then are answered when the stall ends
- ``serial`` one request at a time, ``--service-ms`` each (capacity = 1000 / service-ms req/s)
- ``hang``   accept and read, never answer
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys

import httptools

VARIANTS = ("model-a", "model-a", "model-a", "model-b")


def _responses() -> list[bytes]:
    out = []
    for i in range(16):  # every (variant, label) pair: variants 3:1, labels uniform within each
        variant = VARIANTS[i % 4]
        body = json.dumps({"success": "true", "label": i // 4 + 1, "variant": variant}).encode()
        head = (
            f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n"
            f"X-Invoked-Variant: {variant}\r\n\r\n"
        ).encode()
        out.append(head + body)
    return out


RESPONSES = _responses()


class State:
    def __init__(self, mode: str, stall_every: float, stall_ms: float, service_ms: float) -> None:
        self.mode = mode
        self.stall_every = stall_every
        self.stall = stall_ms / 1000.0
        self.service = service_ms / 1000.0
        self.counter = 0
        self.next_free = 0.0
        self.t0 = 0.0


class ServerProtocol(asyncio.Protocol):
    def __init__(self, state: State) -> None:
        self.state = state
        self.parser = httptools.HttpRequestParser(self)
        self.transport: asyncio.Transport | None = None
        self.loop = asyncio.get_event_loop()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError:
            self.transport.close()  # type: ignore[union-attr]

    def on_message_complete(self) -> None:
        st = self.state
        st.counter += 1
        response = RESPONSES[st.counter & 15]
        mode = st.mode
        if mode == "fixed":
            self.transport.write(response)  # type: ignore[union-attr]
        elif mode == "hang":
            return
        elif mode == "stall":
            now = self.loop.time()
            phase = (now - st.t0) % st.stall_every
            if phase < st.stall:
                self.loop.call_at(now + st.stall - phase, self._write, response)
            else:
                self.transport.write(response)  # type: ignore[union-attr]
        else:  # serial
            now = self.loop.time()
            st.next_free = max(now, st.next_free) + st.service
            self.loop.call_at(st.next_free, self._write, response)

    def _write(self, response: bytes) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(response)


async def serve(port: int, state: State, cpu: int | None) -> None:
    loop = asyncio.get_running_loop()
    state.t0 = loop.time()
    server = await loop.create_server(lambda: ServerProtocol(state), "127.0.0.1", port, backlog=4096)
    print(f"PORT {server.sockets[0].getsockname()[1]}", flush=True)
    async with server:
        await server.serve_forever()


def spawn(mode: str = "fixed", **options: float) -> tuple[subprocess.Popen[str], int]:
    """Start the server in a process of its own on a free loopback port: (the process, its port).

    ``options`` are its flags by name (``stall_ms=50``, ``cpu=1``). The caller stops the process."""
    cmd = [sys.executable, "-m", "orchestrator.loadtest.fakeserver", "--port", "0", "--mode", mode]
    for key, value in options.items():
        cmd += [f"--{key.replace('_', '-')}", str(value)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    line = proc.stdout.readline() if proc.stdout else ""
    if not line.startswith("PORT "):
        proc.kill()
        proc.wait(timeout=5)
        raise RuntimeError(f"fake server did not start: {line!r}")
    return proc, int(line.split()[1])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--mode", choices=["fixed", "stall", "serial", "hang"], default="fixed")
    parser.add_argument("--stall-every", type=float, default=1.0)
    parser.add_argument("--stall-ms", type=float, default=200.0)
    parser.add_argument("--service-ms", type=float, default=5.0)
    parser.add_argument("--cpu", type=int, default=None, help="pin the server to this CPU")
    args = parser.parse_args(argv)
    if args.cpu is not None and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {args.cpu})
    state = State(args.mode, args.stall_every, args.stall_ms, args.service_ms)
    try:
        import uvloop

        uvloop.run(serve(args.port, state, args.cpu))
    except ImportError:  # pragma: no cover
        asyncio.run(serve(args.port, state, args.cpu))
    except KeyboardInterrupt:  # pragma: no cover
        sys.exit(0)


if __name__ == "__main__":
    main()
