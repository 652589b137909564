"""Measure asterisk-ami 0.1.7 against a tiny AMI server on 127.0.0.1 and compare parse speed
with ringwatch's AmiParser on the same bytes in the same process.

Run (see docs/decisions/0001-ami-transport.md):
    /tmp/amivenv/bin/python docs/decisions/0001/measure_asterisk_ami.py . /tmp/ami_stream.bin
"""

import socket
import sys
import threading
import time

from asterisk.ami import AMIClient, AutoReconnect
from asterisk.ami.client import AMIClient as _C

sys.path.insert(0, sys.argv[1])
from collectors.ami.parser import AmiParser

with open(sys.argv[2], "rb") as _f:
    STREAM = _f.read()


class TinyAmi:
    """Banner, answers Login/Ping with Success, otherwise silent (a quiet night)."""

    def __init__(self, drop_once: bool = False) -> None:
        self.drop_once = drop_once
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        self.stop = threading.Event()
        threading.Thread(target=self.accept, daemon=True).start()

    def accept(self) -> None:
        self.sock.settimeout(0.2)
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            self.connections += 1
            threading.Thread(target=self.serve, args=(conn,), daemon=True).start()

    def serve(self, conn: socket.socket) -> None:
        conn.sendall(b"Asterisk Call Manager/11.0.0\r\n")
        buf = b""
        conn.settimeout(0.2)
        while not self.stop.is_set():
            try:
                data = conn.recv(4096)
            except TimeoutError:
                continue
            except OSError:
                return
            if not data:
                return
            buf += data
            while b"\r\n\r\n" in buf:
                block, buf = buf.split(b"\r\n\r\n", 1)
                aid = [ln for ln in block.split(b"\r\n") if ln.lower().startswith(b"actionid:")]
                reply = b"Response: Success\r\n" + (aid[0] + b"\r\n" if aid else b"") + b"\r\n"
                try:
                    conn.sendall(reply)
                except OSError:
                    return
                if self.drop_once:  # drop the socket right after the first answer
                    self.drop_once = False
                    conn.close()
                    return


def idle_drop() -> None:
    srv = TinyAmi()
    dropped: list[float] = []
    client = AMIClient(address="127.0.0.1", port=srv.port)  # defaults: timeout=3
    client.add_listener(on_disconnect=lambda source, error=None: dropped.append(time.monotonic()))
    threads_before = threading.active_count()
    t0 = time.monotonic()
    future = client.login(username="u", secret="s")
    print(f"login response: {future.response.status}")
    print(f"threads: {threads_before} before connect, {threading.active_count()} after")
    print(f"listener thread: {client._thread.name}, daemon={client._thread.daemon}")
    deadline = t0 + 10
    while not dropped and time.monotonic() < deadline:
        time.sleep(0.05)
    if dropped:
        print(f"idle connection dropped after {dropped[0] - t0:.2f} s (timeout=3 default)")
    else:
        print("idle connection still up after 10 s")
    time.sleep(5)
    print(f"connections seen by the server 5 s later: {srv.connections} (no reconnect if 1)")
    srv.stop.set()


def auto_reconnect() -> None:
    srv = TinyAmi()
    client = AMIClient(address="127.0.0.1", port=srv.port)
    AutoReconnect(client)  # opt-in helper: Ping every 0.5 s, re-login on failure
    _ = client.login(username="u", secret="s").response  # waits for the answer
    time.sleep(10)
    print(
        f"AutoReconnect: server saw {srv.connections} connection(s) in 10 s "
        "against an idle, healthy server"
    )
    srv.stop.set()


class FakeSock:
    def __init__(self, data: bytes, size: int) -> None:
        self.data, self.pos, self.size = data, 0, size

    def recv(self, n: int) -> bytes:
        chunk = self.data[self.pos : self.pos + n]
        self.pos += n
        return chunk

    def close(self) -> None:
        pass


def bench_theirs(buffer_size: int) -> tuple[int, float]:
    c = _C(buffer_size=buffer_size)
    c.finished = threading.Event()
    n = 0

    def count(source, event):
        nonlocal n
        n += 1

    c.add_listener(on_event=count)
    c._socket = FakeSock(b"Asterisk Call Manager/11.0.0\r\n" + STREAM, buffer_size)
    gen = c._next_pack()
    t0 = time.perf_counter()
    next(gen)
    for pack in gen:
        c.fire_recv_pack(pack)
    return n, time.perf_counter() - t0


def bench_ours(chunk: int) -> tuple[int, float]:
    p = AmiParser()
    n = 0
    data = b"Asterisk Call Manager/11.0.0\r\n" + STREAM
    t0 = time.perf_counter()
    for i in range(0, len(data), chunk):
        n += len(p.feed(data[i : i + chunk]))
    return n, time.perf_counter() - t0


def auto_reconnect_after_drop() -> None:
    srv = TinyAmi(drop_once=True)
    client = AMIClient(address="127.0.0.1", port=srv.port)
    back: list[float] = []
    AutoReconnect(client, on_reconnect=lambda *a: back.append(time.monotonic()))
    t0 = time.monotonic()
    _ = client.login(username="u", secret="s").response  # waits for the answer
    time.sleep(10)
    first = f"{back[0] - t0:.2f} s" if back else "never"
    print(
        f"AutoReconnect after a server drop: {srv.connections} connection(s), "
        f"{len(back)} re-login(s), first after {first}"
    )
    srv.stop.set()


if __name__ == "__main__":
    idle_drop()
    auto_reconnect()
    auto_reconnect_after_drop()
    print(f"stream: {len(STREAM)} bytes")
    for size in (1024, 65536):
        best_t = min(bench_theirs(size)[1] for _ in range(3))
        n = bench_theirs(size)[0]
        print(f"asterisk-ami buffer_size={size}: {n} events, {n / best_t:,.0f} events/s")
        best_o = min(bench_ours(size)[1] for _ in range(3))
        m = bench_ours(size)[0]
        print(f"ringwatch AmiParser chunk={size}: {m} events, {m / best_o:,.0f} events/s")
