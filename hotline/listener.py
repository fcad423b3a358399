"""The API's listening socket, bound before anything starts so a taken port is one clear line.

`hotline up` binds it once and hands it to every start of `hotline serve --fd N`: a port taken by another
program is found before any part starts, and while the API restarts, connections wait in the socket's
backlog instead of being refused."""

from __future__ import annotations

import errno
import socket

BACKLOG = 2048  # uvicorn's default


class ListenError(OSError):
    """The API cannot listen where it was told to; the message says why and what to change."""


def bind_listener(host: str, port: int) -> socket.socket:
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
    except socket.gaierror as exc:
        raise ListenError(
            f"cannot listen on {host}:{port}: unknown host ({exc.strerror}); set --host or HOTLINE_HOST"
        ) from None
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn: TIME_WAIT does not block a restart
        if family == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        sock.bind(address)
        sock.listen(BACKLOG)
    except OSError as exc:
        sock.close()
        raise ListenError(_explain(exc, host, port)) from None
    return sock


def _explain(exc: OSError, host: str, port: int) -> str:
    where = f"{host}:{port}"
    if exc.errno == errno.EADDRINUSE:
        other = _free_port_near(host, port)
        return (
            f"cannot listen on {where}: port {port} is already in use (another Hotline?); "
            f"choose another with --port {other} or HOTLINE_PORT={other}"
        )
    if exc.errno == errno.EACCES:
        return f"cannot listen on {where}: ports below 1024 need root; choose another with --port or HOTLINE_PORT"
    if exc.errno == errno.EADDRNOTAVAIL:
        return f"cannot listen on {where}: {host} is not an address of this machine; set --host or HOTLINE_HOST"
    return f"cannot listen on {where}: {exc.strerror}"


def _free_port_near(host: str, port: int) -> int:
    """A port to suggest: the first free one after `port` (8001 for a taken 8000)."""
    for candidate in range(port + 1, min(port + 20, 65535) + 1):
        try:
            with socket.create_server((host, candidate)):
                return candidate
        except OSError:
            continue
    return 8000 if port != 8000 else 8080
