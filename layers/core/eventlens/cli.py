"""The ``eventlens`` command."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading

from eventlens.settings import Settings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="eventlens", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    demo = commands.add_parser("demo", help="run the main job end to end on the embedded defaults")
    demo.add_argument("--users", type=int, default=2000)
    demo.add_argument("--days", type=int, default=365)
    demo.add_argument("--seed", type=int, default=7)

    local = commands.add_parser("local", help="serve every function of the manifest on this machine")
    local.add_argument("--port", type=int, default=8000)
    local.add_argument("--host", default="127.0.0.1")

    dead = commands.add_parser("dead-letters", help="list or replay records consume could not store")
    dead.add_argument("action", choices=["list", "replay"])
    dead.add_argument("keys", nargs="*", help="object keys to replay (default: all pending)")

    args = parser.parse_args(argv)
    if args.command == "demo":
        # The demo prints a report; the functions' JSON logs and EMF metrics would bury it.
        os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")
        os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
    settings = Settings()
    if args.command == "demo":
        from eventlens.demo import run_demo

        run_demo(settings, args.users, args.days, args.seed, sys.stdout)
        return 0
    if args.command == "local":
        return _serve(settings, args.host, args.port)
    return _dead_letters(settings, args.action, args.keys)


def _serve(settings: Settings, host: str, port: int) -> int:
    from eventlens.local.runtime import LocalRuntime

    runtime = LocalRuntime(settings, port=port, host=host)
    runtime.start()
    print(f"eventlens local: serving on {runtime.url}", flush=True)
    stopped = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stopped.set())
    stopped.wait()
    runtime.stop()
    return 0


def _dead_letters(settings: Settings, action: str, keys: list[str]) -> int:
    from eventlens.components import Components

    parts = Components(settings)
    if action == "list":
        for key, letter in parts.dead_letters.pending():
            print(f"{key}\t{letter.reason}\t{letter.value[:120]!r}")
        return 0
    replayed = parts.dead_letters.replay(parts.queue, keys or None)
    print(f"replayed {replayed} dead letters")
    parts.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
