"""A TCP relay between a client and a server on this machine that a test can cut, as a
network failure would: open connections are reset and new ones refused until ``restore``.
For PostgreSQL it can also stand in for a server that answers in a way the client cannot
read (``impersonate``, ``answer_next``)."""

from __future__ import annotations

import contextlib
import socket
import struct
import threading

from tests.postgres_server import free_port

SSL_REQUEST = struct.pack("!i", 80877103)  # PostgreSQL's "may we encrypt?" (declined)


def pg_message(kind: bytes, body: bytes = b"") -> bytes:
    """One message of PostgreSQL's protocol, as the server sends it."""
    return kind + struct.pack("!i", len(body) + 4) + body


# Connecting goes well until the version: one asyncpg cannot parse (ValueError).
UNPARSED_VERSION = b"".join(
    (
        pg_message(b"R", struct.pack("!i", 0)),  # authenticated
        pg_message(b"S", b"server_version\x00unknown\x00"),
        pg_message(b"K", struct.pack("!ii", 1, 2)),
        pg_message(b"Z", b"I"),  # ready
    )
)
# An error whose text is not UTF-8: a server whose messages are in a Latin-1 locale
# (lc_messages) and whose database is SQL_ASCII sends them so (asyncpg: UnicodeDecodeError).
LATIN1_ERROR = pg_message(
    b"E", b"SFEHLER\x00VERROR\x00C57P01\x00MVerbindung wird beendet: ung\xfcltig\x00\x00"
) + pg_message(b"Z", b"I")


class TcpProxy:
    def __init__(self, target_port: int) -> None:
        self.target = ("127.0.0.1", target_port)
        self.port = free_port()
        self._lock = threading.Lock()
        self._sockets: set[socket.socket] = set()
        self._listener: socket.socket | None = None
        self._next_answer: bytes | None = None
        self.restore()

    def restore(self) -> None:
        """Accept connections again, relayed to the server."""
        self._listen(None)

    def impersonate(self, answer: bytes) -> None:
        """Until ``restore``: open connections are reset, and new ones are answered by
        the proxy itself: ``answer`` once the client has introduced itself."""
        self._listen(answer)

    def answer_next(self, answer: bytes) -> None:
        """The server's next reply, on whichever connection it comes, is replaced by
        ``answer`` (the connection stays up, relayed as before)."""
        with self._lock:
            self._next_answer = answer

    def _listen(self, answer: bytes | None) -> None:
        if self._listener is not None:
            self.cut()
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener, answer), daemon=True).start()

    def cut(self) -> None:
        """Reset every open connection and refuse new ones."""
        with self._lock:
            listener, self._listener = self._listener, None
            sockets, self._sockets = self._sockets, set()
        if listener is not None:  # shutdown first: it ends the accept, freeing the port
            with contextlib.suppress(OSError):
                listener.shutdown(socket.SHUT_RDWR)
            listener.close()
        for sock in sockets:  # shutdown first: it wakes the relay thread blocked on it
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    close = cut

    def _accept(self, listener: socket.socket, answer: bytes | None) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:  # cut
                return
            if answer is not None:
                with self._lock:
                    self._sockets.add(client)
                threading.Thread(target=self._answer, args=(client, answer), daemon=True).start()
                continue
            try:
                server = socket.create_connection(self.target)
            except OSError:
                client.close()
                continue
            with self._lock:
                if self._listener is not listener:  # cut meanwhile
                    client.close()
                    server.close()
                    return
                self._sockets |= {client, server}
            for a, b, replies in ((client, server, False), (server, client, True)):
                threading.Thread(target=self._pipe, args=(a, b, replies), daemon=True).start()

    def _answer(self, client: socket.socket, answer: bytes) -> None:
        with contextlib.suppress(OSError):
            if client.recv(65536)[4:8] == SSL_REQUEST:
                client.sendall(b"N")
                client.recv(65536)  # the start-up message
            client.sendall(answer)
            while client.recv(65536):
                pass

    def _pipe(self, source: socket.socket, target: socket.socket, replies: bool) -> None:
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                if replies and self._next_answer is not None:
                    with self._lock:
                        data, self._next_answer = self._next_answer or data, None
                target.sendall(data)
        with contextlib.suppress(OSError):
            target.shutdown(socket.SHUT_WR)
