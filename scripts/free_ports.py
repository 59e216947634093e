"""Prints three free loopback ports for a test run: Kafka's (its KRaft controller takes the next one
too), Neo4j's and PostgreSQL's. Two test runs on one machine then never meet on a port."""

import socket


def _free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _any_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def main() -> None:
    chosen: list[int] = []
    taken: set[int] = set()
    while len(chosen) < 3:
        port = _any_port()
        needed = {port, port + 1} if not chosen else {port}  # Kafka's first: it needs two
        if port < 65534 and not needed & taken and all(_free(p) for p in needed):
            chosen.append(port)
            taken |= needed
    print(*chosen)


if __name__ == "__main__":
    main()
