"""A small SMTP server for the fault suite: it takes a message only when it answers 250 to
the end of its DATA, as a real mail server does, and can hold that answer (a slow server) so a
test can kill the sender mid-send. A sender that dies while waiting leaves nothing behind."""

import select
import socket
import socketserver
import threading
from typing import Any

STALL_SECONDS = 60.0  # longest a held answer waits for `release`


class SMTPServer:
    def __init__(self) -> None:
        self.accepted: list[bytes] = []
        self.stall_next = False  # hold the answer to the next message's DATA
        self.stalled = threading.Event()  # a sender is waiting for that answer
        self.release = threading.Event()
        self.lock = threading.Lock()
        owner = self

        class Handler(socketserver.StreamRequestHandler):
            def handle(self) -> None:
                owner.converse(self.connection, self.rfile)

        self.server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]

    def __enter__(self) -> "SMTPServer":
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()

    def converse(self, connection: socket.socket, lines: Any) -> None:
        def say(text: str) -> None:
            connection.sendall(f"{text}\r\n".encode())

        say("220 faults.example ESMTP")
        while line := lines.readline():
            verb = line[:4].upper()
            if verb in (b"EHLO", b"HELO"):
                say("250 faults.example")
            elif verb == b"DATA":
                say("354 go ahead")
                message = b"".join(iter(lambda: lines.readline(), b".\r\n"))
                if self.hold_answer(connection):
                    with self.lock:
                        self.accepted.append(message)
                    say("250 accepted")
                else:
                    return  # the sender died before our 250: the message is not ours
            elif verb == b"QUIT":
                say("221 bye")
                return
            else:  # MAIL, RCPT, RSET, NOOP
                say("250 ok")

    def hold_answer(self, connection: socket.socket) -> bool:
        """Wait for `release` if asked to; False when the sender hung up meanwhile."""
        with self.lock:
            stall, self.stall_next = self.stall_next, False
        if not stall:
            return True
        self.stalled.set()
        waited = 0.0
        while not self.release.is_set() and waited < STALL_SECONDS:
            readable, _, _ = select.select([connection], [], [], 0.1)
            if readable and not connection.recv(1, socket.MSG_PEEK):
                return False  # EOF: the sender is gone
            waited += 0.1
        return True
