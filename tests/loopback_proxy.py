"""A loopback TCP proxy a spec can cut: storage that goes away at a moment the spec picks.

Bytes go both ways untouched between 127.0.0.1:<port> and a loopback target (Azurite).
`close()` stops listening and cuts every open connection, so from then on a client's
pooled connection breaks and a new one is refused, as when the storage account cannot
be reached. `cut_on(marker)` does that the moment a client sends bytes holding `marker`
(a request line, say), before they reach the target. `hang()` keeps every connection
open and takes what clients send without passing it on, so no request is ever answered,
as storage that hangs: only the client's own timeouts end the wait.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from types import TracebackType
from typing import Self

_CHUNK = 65536


class LoopbackProxy:
    def __init__(self, target_port: int) -> None:
        self._target = ("127.0.0.1", target_port)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        self._lock = threading.Lock()
        self._open: list[socket.socket] = []
        self._closed = False
        self._marker: bytes | None = None
        self._hanging = False
        threading.Thread(target=self._accept, name="loopback-proxy", daemon=True).start()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def cut_on(self, marker: bytes) -> None:
        self._marker = marker

    def hang(self, *_: object) -> None:
        """From now on nothing a client sends reaches the target (also as the Partner
        Center emulator's `on_reset`, which hands over the reset applied)."""
        self._hanging = True

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
            sockets, self._open = self._open, []
        self._listener.close()
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self._target, timeout=5)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            with self._lock:
                if self._closed:
                    client.close()
                    upstream.close()
                    return
                self._open += [client, upstream]
            for source, sink, watched in ((client, upstream, True), (upstream, client, False)):
                threading.Thread(
                    target=self._pump, args=(source, sink, watched), daemon=True
                ).start()

    def _pump(self, source: socket.socket, sink: socket.socket, watched: bool) -> None:
        try:
            while data := source.recv(_CHUNK):
                if watched and self._marker is not None and self._marker in data:
                    self.close()
                    return
                if watched and self._hanging:
                    continue
                sink.sendall(data)
        except OSError:
            pass
        finally:
            with contextlib.suppress(OSError):
                sink.shutdown(socket.SHUT_WR)
