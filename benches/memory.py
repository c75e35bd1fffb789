#!/usr/bin/env python3
"""Memory per key: shardis vs redis-server, side by side.

Starts both servers on free ports with persistence off, loads the same data
into each and reports the RSS it added, bytes per element and the ratio:

- 1 M string keys: 16-byte keys, 32-byte values (SET);
- one hash of 1 M fields (16-byte fields, 32-byte values);
- one set of 1 M members (16 bytes);
- one sorted set of 1 M members (16 bytes, distinct scores).

Each data set goes into a fresh pair of servers, so one does not pay for
another's leftovers. RSS is the server process's VmRSS from /proc.

    python3 benches/memory.py [--count 1000000] [--shards N] [--sets strings,hash,set,zset]
"""
import argparse, os, shutil, socket, subprocess, sys, tempfile, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def connect(port):
    for _ in range(500):
        try:
            s = socket.create_connection(("127.0.0.1", port))
            s.sendall(b"PING\r\n")
            if s.recv(16).startswith(b"+PONG"):
                return s
            s.close()
        except OSError:
            pass
        time.sleep(0.02)
    sys.exit(f"server on port {port} did not start")


def resp(*args):
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(out)


def send_all(sock, commands, chunk=5000):
    """Pipelines `commands` in chunks, reading every reply line."""
    buf = b""
    for i in range(0, len(commands), chunk):
        part = commands[i:i + chunk]
        sock.sendall(b"".join(part))
        want = len(part)
        while want:
            data = sock.recv(1 << 20)
            if not data:
                sys.exit("server closed the connection")
            buf += data
            lines = buf.split(b"\r\n")
            buf = lines.pop()
            for line in lines:
                if line.startswith(b"-"):
                    sys.exit(f"error reply: {line!r}")
            want -= len(lines)


def workload(name, n):
    key = lambda i: b"key:%012d" % i          # 16 bytes
    member = lambda i: b"mem:%012d" % i       # 16 bytes
    value = lambda i: b"v" * 20 + b"%012d" % i  # 32 bytes
    if name == "strings":
        return [resp(b"SET", key(i), value(i)) for i in range(n)]
    if name == "hash":
        return [resp(b"HSET", b"h", member(i), value(i)) for i in range(n)]
    if name == "set":
        return [resp(b"SADD", b"s", member(i)) for i in range(n)]
    if name == "zset":
        return [resp(b"ZADD", b"z", b"%d" % i, member(i)) for i in range(n)]
    sys.exit(f"unknown set {name}")


def settled_rss(pid, most=15.0):
    """RSS once allocators gave back what the load freed (the old table of a
    grown hash table, transient buffers): mimalloc and jemalloc both purge
    with a delay, so wait until RSS stops falling (or `most` seconds)."""
    last = rss(pid)
    waited = 0.0
    while waited < most:
        time.sleep(1.0)
        waited += 1.0
        now = rss(pid)
        if now >= last - last // 200:
            return min(now, last)
        last = now
    return last


def measure(cmd, port, commands):
    tmp = tempfile.mkdtemp()
    proc = subprocess.Popen(cmd + ["--dir", tmp], stdout=subprocess.DEVNULL)
    try:
        sock = connect(port)
        time.sleep(0.2)
        before = rss(proc.pid)
        send_all(sock, commands)
        return settled_rss(proc.pid) - before
    finally:
        proc.terminate()
        proc.wait()
        shutil.rmtree(tmp, ignore_errors=True)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--count", type=int, default=1_000_000)
    p.add_argument("--shards", type=int, default=0)
    p.add_argument("--sets", default="strings,hash,set,zset")
    args = p.parse_args()
    binary = os.path.join(ROOT, "target", "release", "shardis")
    if not os.path.exists(binary):
        sys.exit("build first: cargo build --release")
    if not shutil.which("redis-server"):
        sys.exit("redis-server not found (apt install redis-server)")
    shards = args.shards or (os.cpu_count() or 1)
    print(f"# {args.count} elements per data set; shardis {shards} shards vs redis-server; RSS added by loading")
    print(f"{'data set':<10}{'shardis MB':>12}{'redis MB':>10}{'shardis B/el':>14}{'redis B/el':>12}{'ratio':>7}")
    for name in args.sets.split(","):
        commands = workload(name, args.count)
        sport, rport = free_port(), free_port()
        s = measure([binary, "--port", str(sport), "--shards", str(shards), "--loglevel", "warning",
                     "--appendonly", "no", "--save", ""], sport, commands)
        r = measure(["redis-server", "--port", str(rport), "--save", "", "--appendonly", "no"], rport, commands)
        n = args.count
        print(f"{name:<10}{s / 2**20:>12.1f}{r / 2**20:>10.1f}{s / n:>14.1f}{r / n:>12.1f}{s / r:>7.2f}", flush=True)


if __name__ == "__main__":
    main()
