"""Network peers that misbehave in the two ways a phone on bad Wi-Fi does."""

from __future__ import annotations

import contextlib
import socket
import threading
from types import TracebackType


class Unanswered:
    """A port where TCP connects hang, as with a host that dropped off the network: a
    listening socket whose accept backlog is full (Linux then ignores new SYNs)."""

    def __init__(self) -> None:
        self._listener = socket.socket()
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(0)
        self.port = int(self._listener.getsockname()[1])
        self._fillers: list[socket.socket] = []
        for _ in range(1):  # one queued connection fills a backlog of 0
            s = socket.socket()
            s.settimeout(0.5)
            with contextlib.suppress(OSError):
                s.connect(("127.0.0.1", self.port))
            self._fillers.append(s)

    def close(self) -> None:
        for s in [*self._fillers, self._listener]:
            s.close()

    def __enter__(self) -> Unanswered:
        return self

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


class Silent:
    """A server that accepts connections and never says a word (a hung camera app)."""

    def __init__(self) -> None:
        self._listener = socket.socket()
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(8)
        self._listener.settimeout(0.2)
        self.port = int(self._listener.getsockname()[1])
        self.accepted = 0
        self._conns: list[socket.socket] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.accepted += 1
            self._conns.append(conn)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
        for s in [*self._conns, self._listener]:
            s.close()

    def __enter__(self) -> Silent:
        return self

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
