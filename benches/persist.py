#!/usr/bin/env python3
"""Persistence costs side by side: shardis vs redis-server (issue 6, "Performance").

Four measurements, each against both servers, data directories under the same
temporary directory (same filesystem) for both:

1. fsync cost: SET throughput (redis-benchmark -t set, random keys) with the
   append-only log under `appendfsync always`, `everysec`, and persistence
   off; requests/s and server CPU per request (utime+stime from /proc, every
   thread of the server) — A/B rounds, median, as benches/compare.py.
2. BGSAVE never blocks: after loading --keys keys (DEBUG POPULATE: "key:N" ->
   "value:N"), a paced client in its own process sends GET and SET (one at a
   time, random existing keys) and times each; its latencies while no save
   runs ("idle") are compared with those while BGSAVE runs ("save", BGSAVE
   repeated back to back until --save-window seconds of saving are covered).
3. Memory during BGSAVE: VmRSS of the server sampled every --sample-ms during
   the saves, against the RSS just before. For redis also its forked child:
   its RSS and its Private_Clean+Private_Dirty (smaps_rollup). Redis's real
   footprint is parent RSS + child private pages (pages shared by the two are
   counted once); parent RSS + child RSS is also shown (an upper bound).
4. Snapshot write and load throughput: BGSAVE duration with no client load
   (polling INFO persistence until rdb_bgsave_in_progress:0), and a restart's
   load (spawn until PING answers PONG; and the server's own log line),
   keys/s and MB/s of the snapshot files (shardis: every shard-*/snapshot-*.snap;
   redis: dump.rdb). The restart reads files still in the page cache.

    python3 benches/persist.py [--keys 5000000] [--sections fsync,save]
        [--rounds 3] [--requests 100000] [--clients 50] [--pipelines 1,16]
        [--keyspace 100000] [--shards N] [--rate 2000] [--idle 5]
        [--save-window 5] [--repeat 2] [--sample-ms 20] [--binary PATH]
        [--servers shardis,redis] [--tmp DIR] [--keep]

Both servers run with `--save ""` (no automatic snapshots) and automatic log
rewrites off, so only the measured work happens. Section 1 starts fresh
servers per mode; sections 2-4 run one server at a time (less noise, half the
memory). Needs redis-server and redis-benchmark 7.x and a release build.
"""
import argparse, array, multiprocessing, os, random, re, shutil, signal, socket, statistics, subprocess, sys
import tempfile, time

sys.dont_write_bytecode = True  # importing compare.py must not leave benches/__pycache__ behind
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import compare  # noqa: E402  (free_port, wait_ready, cpu_seconds, run_benchmark)

ROOT = compare.ROOT
ANSI = re.compile(r"\x1b\[[0-9;]*m")


# ---------------------------------------------------------------- RESP client

class Conn:
    """One connection, one request at a time (enough for control and latency)."""

    def __init__(self, port, timeout=120):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = bytearray()

    def close(self):
        self.sock.close()

    def send(self, *args):
        out = [b"*%d\r\n" % len(args)]
        for a in args:
            a = a if isinstance(a, bytes) else str(a).encode()
            out.append(b"$%d\r\n%s\r\n" % (len(a), a))
        self.sock.sendall(b"".join(out))

    def call(self, *args):
        self.send(*args)
        return self.reply()

    def _line(self):
        while True:
            i = self.buf.find(b"\r\n")
            if i >= 0:
                line = bytes(self.buf[:i])
                del self.buf[:i + 2]
                return line
            self._fill()

    def _fill(self):
        chunk = self.sock.recv(1 << 16)
        if not chunk:
            raise ConnectionError("server closed the connection")
        self.buf += chunk

    def reply(self):
        line = self._line()
        kind, rest = line[:1], line[1:]
        if kind == b"+":
            return rest.decode()
        if kind == b"-":
            return RuntimeError(rest.decode())
        if kind == b":":
            return int(rest)
        if kind == b"$":
            n = int(rest)
            if n < 0:
                return None
            while len(self.buf) < n + 2:
                self._fill()
            data = bytes(self.buf[:n])
            del self.buf[:n + 2]
            return data
        if kind == b"*":
            n = int(rest)
            return None if n < 0 else [self.reply() for _ in range(n)]
        raise RuntimeError(f"unexpected reply {line!r}")

    def ok(self, *args):
        r = self.call(*args)
        if isinstance(r, Exception):
            sys.exit(f"{' '.join(map(str, args))}: {r}")
        return r

    def info(self, section):
        text = self.ok("INFO", section).decode()
        return dict(l.split(":", 1) for l in text.splitlines() if ":" in l and not l.startswith("#"))


# ------------------------------------------------------------------- servers

class Server:
    """A server command line and its running process (one at a time)."""

    def __init__(self, name, argv, dir_flag, data_dir, log_path=None):
        self.name, self.argv, self.dir_flag, self.dir, self.log_path = name, argv, dir_flag, data_dir, log_path
        self.proc = self.port = None

    def spawn(self):
        """Starts the server on a fresh port; returns the time of the spawn."""
        os.makedirs(self.dir, exist_ok=True)
        self.port = compare.free_port()
        out = open(self.log_path, "ab") if self.log_path else subprocess.DEVNULL
        started = time.monotonic()
        self.proc = subprocess.Popen(self.argv + ["--port", str(self.port), self.dir_flag, self.dir],
                                     stdout=out, stderr=subprocess.STDOUT)
        if out is not subprocess.DEVNULL:
            out.close()
        return started

    def start(self):
        self.spawn()
        compare.wait_ready(self.port)
        return self

    def stop(self):
        """SHUTDOWN NOSAVE (both servers exit without writing), then reap."""
        if self.proc is None:
            return
        try:
            c = Conn(self.port, timeout=10)
            c.send("SHUTDOWN", "NOSAVE")
            c.close()
            self.proc.wait(timeout=60)
        except (OSError, subprocess.TimeoutExpired):
            self.proc.terminate()
            self.proc.wait()
        self.proc = None

    def log_text(self):
        if not self.log_path or not os.path.exists(self.log_path):
            return ""
        with open(self.log_path, errors="replace") as f:
            return ANSI.sub("", f.read())


def shardis_argv(args, persist):
    return [args.binary, "--shards", str(args.shards), "--save", "", "--auto-aof-rewrite-percentage", "0"] + persist


def redis_argv(extra):
    return ["redis-server", "--save", "", "--auto-aof-rewrite-percentage", "0", "--enable-debug-command", "yes"] + extra


def load_note():
    one, five, _ = os.getloadavg()
    return f"load avg {one:.2f} (1 min) {five:.2f} (5 min)"


# ---------------------------------------------------- section 1: fsync cost

FSYNC_MODES = [
    ("always", ["--appendonly", "yes", "--appendfsync", "always"]),
    ("everysec", ["--appendonly", "yes", "--appendfsync", "everysec"]),
    ("off", ["--appendonly", "no"]),
]


def fsync_section(args, tmp):
    print(f"\n## 1. Group commit / fsync cost: SET, {args.clients} clients, {args.requests} requests, "
          f"-r {args.keyspace}, median of {args.rounds} A/B rounds")
    print(f"{'mode':<10}{'P':>3}{'shardis rps':>13}{'redis rps':>12}{'ratio':>7}"
          f"{'shardis us/req':>16}{'redis us/req':>14}{'cpu ratio':>11}   {'rps range (s, r)':<24}machine")
    bench = argparse.Namespace(requests=args.requests, clients=args.clients, keyspace=args.keyspace)
    results = {}
    for mode, flags in FSYNC_MODES:
        servers = [Server("shardis", shardis_argv(args, flags), "--dir", os.path.join(tmp, f"s-{mode}")),
                   Server("redis", redis_argv(flags), "--dir", os.path.join(tmp, f"r-{mode}"))]
        for s in servers:
            s.start()
        try:
            for pipeline in args.pipelines:
                note = load_note()
                rps = {"shardis": [], "redis": []}
                cpu = {"shardis": [], "redis": []}
                for _ in range(args.rounds):
                    for s in servers:
                        before = compare.cpu_seconds(s.proc.pid)
                        rps[s.name].append(compare.run_benchmark(s.port, "set", pipeline, bench, None))
                        cpu[s.name].append((compare.cpu_seconds(s.proc.pid) - before) / args.requests * 1e6)
                sr, rr = statistics.median(rps["shardis"]), statistics.median(rps["redis"])
                sc, rc = statistics.median(cpu["shardis"]), statistics.median(cpu["redis"])
                results[(mode, pipeline)] = (sr / rr, sc / rc if rc else float("nan"))
                spread = "  ".join(f"{n[0]} {min(v) / 1000:.0f}-{max(v) / 1000:.0f}k" for n, v in rps.items())
                print(f"{mode:<10}{pipeline:>3}{sr:>13.0f}{rr:>12.0f}{sr / rr:>7.2f}{sc:>16.2f}{rc:>14.2f}"
                      f"{results[(mode, pipeline)][1]:>11.2f}   {spread:<24}{note}", flush=True)
        finally:
            for s in servers:
                s.stop()
    return results


# ------------------------------------------------ sections 2-4: snapshots

def latency_client(port, keys, rate, stop, pipe):
    """Child process: GET and SET alternately at `rate`/s until `stop` is set.

    Sends back (send time, op, latency) arrays; op 0 = GET, 1 = SET. Latency is
    from sending the request to the end of its reply (a stalled server shows
    in the requests it stalls, and in max)."""
    conn = Conn(port, timeout=60)
    rng = random.Random(1)
    sent, ops, lat = array.array("d"), array.array("b"), array.array("d")
    interval = 1.0 / rate
    due = time.monotonic()
    i = 0
    while not (i % 64 == 0 and stop.is_set()):
        now = time.monotonic()
        if now < due:
            time.sleep(due - now)
        elif now - due > 0.1:
            due = now  # fell far behind (a stall): do not burst to catch up
        due += interval
        n = rng.randrange(keys)
        op = i & 1
        sent.append(time.monotonic())
        t0 = time.perf_counter()
        if op:
            conn.send("SET", f"key:{n}", f"value:{n}")
        else:
            conn.send("GET", f"key:{n}")
        r = conn.reply()
        t1 = time.perf_counter()
        if isinstance(r, Exception):
            pipe.send(("error", str(r)))
            return
        ops.append(op)
        lat.append((t1 - t0) * 1e6)
        i += 1
    pipe.send((sent.tobytes(), ops.tobytes(), lat.tobytes()))


def children(pid):
    kids = []
    try:
        for tid in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{tid}/children") as f:
                kids += [int(x) for x in f.read().split()]
    except OSError:
        pass
    return kids


def status_kb(pid, field):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def private_kb(pid):
    """Private_Clean + Private_Dirty of a process (its pages no one else maps)."""
    total = 0
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith(("Private_Clean:", "Private_Dirty:")):
                    total += int(line.split()[1])
    except PermissionError:
        return None
    except OSError:
        return 0  # the child exited between listing and reading: nothing left to count
    return total


class MemPeak:
    """Peaks of the server (and any forked child) sampled during saves."""

    def __init__(self, pid):
        self.pid = pid
        self.before = status_kb(pid, "VmRSS")
        self.parent = self.child_rss = self.child_private = self.sum_rss = self.real = 0
        self.private_readable = True

    def sample(self):
        parent = status_kb(self.pid, "VmRSS")
        crss = cpriv = 0
        for kid in children(self.pid):
            crss += status_kb(kid, "VmRSS")
            p = private_kb(kid)
            if p is None:
                self.private_readable = False
            else:
                cpriv += p
        self.parent = max(self.parent, parent)
        self.child_rss = max(self.child_rss, crss)
        self.child_private = max(self.child_private, cpriv)
        self.sum_rss = max(self.sum_rss, parent + crss)
        self.real = max(self.real, parent + cpriv)


def bgsave(conn, server, mem, sample_s):
    """Runs one BGSAVE to completion, sampling memory; returns (start, end)."""
    start = time.monotonic()
    r = conn.call("BGSAVE")
    if isinstance(r, Exception):
        sys.exit(f"{server.name}: BGSAVE: {r}")
    deadline = start + 600
    while True:
        mem.sample()
        info = conn.info("persistence")
        if info.get("rdb_bgsave_in_progress") == "0":
            end = time.monotonic()
            break
        if time.monotonic() > deadline:
            sys.exit(f"{server.name}: BGSAVE still in progress after 600 s (INFO persistence: {info})")
        time.sleep(sample_s)
    if info.get("rdb_last_bgsave_status") != "ok":
        sys.exit(f"{server.name}: BGSAVE failed: rdb_last_bgsave_status={info.get('rdb_last_bgsave_status')}")
    return start, end


def snapshot_bytes(server):
    if server.name == "redis":
        return os.path.getsize(os.path.join(server.dir, "dump.rdb"))
    total = 0
    for shard in os.listdir(server.dir):
        sdir = os.path.join(server.dir, shard)
        if shard.startswith("shard-") and os.path.isdir(sdir):
            total += sum(os.path.getsize(os.path.join(sdir, f)) for f in os.listdir(sdir)
                         if f.startswith("snapshot-") and f.endswith(".snap"))
    return total


def load_log_seconds(server, since):
    """The load time the server itself logged (the last such line after `since` chars)."""
    text = server.log_text()[since:]
    if server.name == "redis":
        m = re.findall(r"DB loaded from disk: ([0-9.]+) seconds", text)
        return float(m[-1]) if m else None
    m = re.findall(r"DB loaded from disk keys=(\d+) ms=(\d+)", text)
    return int(m[-1][1]) / 1000 if m else None


def percentile(sorted_values, q):
    if not sorted_values:
        return float("nan")
    k = max(0, min(len(sorted_values) - 1, int(q * len(sorted_values) + 0.999999) - 1))
    return sorted_values[k]


def restart_and_time(server, keys):
    """Restarts on the existing data; returns (seconds until PONG, logged seconds)."""
    since = len(server.log_text())
    started = server.spawn()
    conn = None
    while True:
        try:
            if conn is None:
                conn = Conn(server.port, timeout=600)
            r = conn.call("PING")
            if r == "PONG":
                ready = time.monotonic() - started
                break
        except OSError:
            conn = None
        if server.proc.poll() is not None:
            sys.exit(f"{server.name} exited during load (code {server.proc.returncode}); log: {server.log_path}")
        if time.monotonic() - started > 600:
            sys.exit(f"{server.name}: not answering PONG 600 s after start")
        time.sleep(0.005)
    n = conn.ok("DBSIZE")
    conn.close()
    if n != keys:
        sys.exit(f"{server.name}: {n} keys after restart, expected {keys}")
    for _ in range(100):  # the log line may trail the first PONG by a moment
        logged = load_log_seconds(server, since)
        if logged is not None:
            break
        time.sleep(0.01)
    return ready, logged


def save_phase(server, args):
    """Sections 2-4 for one server: populate, quiet saves, saves under load, restarts."""
    r = {"note_populate": load_note()}
    server.start()
    conn = Conn(server.port, timeout=600)
    t = time.monotonic()
    conn.ok("DEBUG", "POPULATE", args.keys)
    r["populate_s"] = time.monotonic() - t
    n = conn.ok("DBSIZE")
    if n != args.keys:
        sys.exit(f"{server.name}: DBSIZE {n} after DEBUG POPULATE {args.keys}")
    sample_s = args.sample_ms / 1000

    # 4 (write): quiet saves, nothing else running.
    r["note_quiet"] = load_note()
    r["save_s"], r["quiet_mem"] = [], []
    for _ in range(args.repeat):
        time.sleep(0.5)
        mem = MemPeak(server.proc.pid)
        s, e = bgsave(conn, server, mem, sample_s)
        r["save_s"].append(e - s)
        r["quiet_mem"].append(mem)
    r["bytes"] = snapshot_bytes(server)

    # 2 + 3: the paced client, first with no save running, then across saves.
    r["note_load"] = load_note()
    stop = multiprocessing.Event()
    recv, send = multiprocessing.Pipe(duplex=False)
    client = multiprocessing.Process(target=latency_client, args=(server.port, args.keys, args.rate, stop, send),
                                     daemon=True)
    client.start()
    time.sleep(0.5)  # warm up (connect, first requests)
    idle = (time.monotonic(), None)
    time.sleep(args.idle)
    idle = (idle[0], time.monotonic())
    mem = MemPeak(server.proc.pid)
    windows = []
    while not windows or (sum(e - s for s, e in windows) < args.save_window and len(windows) < 50):
        windows.append(bgsave(conn, server, mem, sample_s))
    time.sleep(0.1)
    stop.set()
    got = recv.recv()
    client.join()
    if got[0] == "error":
        sys.exit(f"{server.name}: latency client got an error reply: {got[1]}")
    sent, ops, lat = (array.array("d", got[0]), array.array("b", got[1]), array.array("d", got[2]))
    buckets = {(w, op): [] for w in ("idle", "save") for op in (0, 1)}
    for t_sent, op, us in zip(sent, ops, lat):
        if idle[0] <= t_sent < idle[1]:
            buckets[("idle", op)].append(us)
        elif any(s <= t_sent < e for s, e in windows):
            buckets[("save", op)].append(us)
    r["lat"] = {k: sorted(v) for k, v in buckets.items()}
    # Each save's worst request, and where in the save it was sent (0 = BGSAVE
    # sent, 1 = INFO reported it done): tells a stall at the cut or the switch
    # from one spread over the writing.
    r["worst"] = []
    for s, e in windows:
        inside = [(us, t_sent) for t_sent, us in zip(sent, lat) if s <= t_sent < e]
        if inside:
            us, t_sent = max(inside)
            r["worst"].append((us, (t_sent - s) / (e - s), e - s))
    r["loaded_saves"] = [e - s for s, e in windows]
    r["loaded_mem"] = mem
    conn.close()

    # 4 (load): restarts on the snapshot just written.
    server.stop()
    r["note_restart"] = load_note()
    r["load_s"], r["load_log_s"] = [], []
    for i in range(args.repeat):
        ready, logged = restart_and_time(server, args.keys)
        r["load_s"].append(ready)
        r["load_log_s"].append(logged)
        r["rss_loaded_kb"] = status_kb(server.proc.pid, "VmRSS")
        server.stop()
    return r


def mb(kb):
    return kb / 1024


def fmt_opt(x, spec):
    return format(x, spec) if x is not None else "n/a".rjust(len(format(0.0, spec)))


def print_save_sections(res, args):
    names = list(res)
    print(f"\n## 2. Latency of GET/SET while BGSAVE runs vs idle ({args.keys} keys, paced client "
          f"{args.rate} req/s, one request at a time, GET and SET alternating on random keys; µs)")
    print(f"{'server':<9}{'op':<5}{'window':<8}{'n':>7}{'p50':>9}{'p99':>9}{'p99.9':>9}{'max':>10}")
    for name in names:
        for op, opname in ((0, "GET"), (1, "SET")):
            for w in ("idle", "save"):
                v = res[name]["lat"][(w, op)]
                print(f"{name:<9}{opname:<5}{w:<8}{len(v):>7}{percentile(v, .5):>9.0f}{percentile(v, .99):>9.0f}"
                      f"{percentile(v, .999):>9.0f}{(max(v) if v else float('nan')):>10.0f}")
        saves, worst = res[name]["loaded_saves"], res[name]["worst"]
        print(f"{'':<9}{len(saves)} BGSAVE(s) under this load, {statistics.median(saves):.2f} s each (median), "
              f"machine at start: {res[name]['note_load']}")
        if worst:
            us = sorted(w for w, _, _ in worst)
            print(f"{'':<9}worst request per save: median {statistics.median(us):.0f} µs, max {us[-1]:.0f} µs; sent at "
                  f"{', '.join(f'{pos:.2f}' for _, pos, _ in worst[:12])}{' …' if len(worst) > 12 else ''} of the save")
            top = sorted(worst, reverse=True)[:3]
            print(f"{'':<9}worst saves: " + "; ".join(f"{w / 1000:.1f} ms sent at {pos:.2f} of a {d:.2f} s save"
                                                      for w, pos, d in top))

    print("\n## 3. Memory during BGSAVE (MB; peak of samples every "
          f"{args.sample_ms} ms; redis child = the forked saver)")
    print(f"{'server':<9}{'save':<8}{'before':>9}{'peak':>9}{'ratio':>7}{'child rss':>11}{'child priv':>12}"
          f"{'par+child rss':>15}{'real peak':>11}{'real ratio':>12}")
    for name in names:
        rows = [("quiet", m) for m in res[name]["quiet_mem"]] + [("loaded", res[name]["loaded_mem"])]
        for label, m in rows:
            real = m.real if m.private_readable else None
            print(f"{name:<9}{label:<8}{mb(m.before):>9.0f}{mb(m.parent):>9.0f}{m.parent / m.before:>7.2f}"
                  f"{mb(m.child_rss):>11.0f}{(mb(m.child_private) if m.private_readable else float('nan')):>12.0f}"
                  f"{mb(m.sum_rss):>15.0f}{fmt_opt(real and mb(real), '11.0f')}"
                  f"{fmt_opt(real and real / m.before, '12.2f')}")
    print("  peak = server process VmRSS (all threads); real = parent RSS + child private pages "
          "(shardis: no child, real = peak)")

    print(f"\n## 4. Snapshot write and load ({args.keys} keys, median of {args.repeat})")
    print(f"{'server':<9}{'file MB':>9}{'save s':>8}{'keys/s':>12}{'MB/s':>8}{'load s':>8}{'keys/s':>12}{'MB/s':>8}"
          f"{'logged s':>10}{'RSS loaded':>12}{'populate s':>12}")
    derived = {}
    for name in names:
        r = res[name]
        size = r["bytes"] / 1e6
        save, load = statistics.median(r["save_s"]), statistics.median(r["load_s"])
        logged = [x for x in r["load_log_s"] if x is not None]
        logged = statistics.median(logged) if logged else None
        derived[name] = (size, save, load)
        print(f"{name:<9}{size:>9.1f}{save:>8.2f}{args.keys / save:>12.0f}{size / save:>8.0f}{load:>8.2f}"
              f"{args.keys / load:>12.0f}{size / load:>8.0f}{fmt_opt(logged, '10.2f')}"
              f"{mb(r['rss_loaded_kb']):>12.0f}{r['populate_s']:>12.2f}")
        print(f"{'':<9}saves {', '.join(f'{x:.2f}' for x in r['save_s'])} s; loads "
              f"{', '.join(f'{x:.2f}' for x in r['load_s'])} s; machine: {r['note_quiet']} / {r['note_restart']}")
    print("  save s = BGSAVE until rdb_bgsave_in_progress:0 (no client load); load s = spawn until PONG; "
          "logged s = the server's 'DB loaded from disk' line; file MB = 10^6 bytes")
    return derived


def summary(fsync, res, derived, args):
    print("\n## Summary (shardis / redis)")
    for (mode, p), (rps, cpu) in (fsync or {}).items():
        print(f"  SET appendfsync {mode:<8} P{p:<3} throughput x{rps:.2f}, CPU per request x{cpu:.2f}")
    if res and "redis" in res and "shardis" in res:
        for op, opname in ((0, "GET"), (1, "SET")):
            s, r = res["shardis"]["lat"], res["redis"]["lat"]
            print(f"  {opname} during BGSAVE: p99 shardis {percentile(s[('save', op)], .99):.0f} µs "
                  f"(idle {percentile(s[('idle', op)], .99):.0f}), redis {percentile(r[('save', op)], .99):.0f} µs "
                  f"(idle {percentile(r[('idle', op)], .99):.0f}); max shardis {max(s[('save', op)], default=0):.0f}"
                  f" µs, redis {max(r[('save', op)], default=0):.0f} µs")
        sm, rm = res["shardis"]["loaded_mem"], res["redis"]["loaded_mem"]
        rreal = rm.real if rm.private_readable else rm.sum_rss
        print(f"  memory during BGSAVE under load: shardis peak/before x{sm.parent / sm.before:.2f} "
              f"({mb(sm.parent):.0f} MB), redis real peak/before x{rreal / rm.before:.2f} ({mb(rreal):.0f} MB); "
              f"shardis peak / redis real peak x{sm.parent / rreal:.2f}")
        (ss, sw, sl), (rs, rw, rl) = derived["shardis"], derived["redis"]
        print(f"  snapshot size x{ss / rs:.2f}; write keys/s x{rw / sw:.2f}; load keys/s x{rl / sl:.2f}")


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--sections", default="fsync,save", help="fsync (1), save (2-4), or both")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--requests", type=int, default=100000)
    p.add_argument("--clients", type=int, default=50)
    p.add_argument("--pipelines", default="1,16")
    p.add_argument("--keyspace", type=int, default=100000)
    p.add_argument("--keys", type=int, default=5000000, help="keys loaded for sections 2-4")
    p.add_argument("--rate", type=int, default=2000, help="latency client requests/s")
    p.add_argument("--idle", type=float, default=5, help="seconds of latency samples with no save")
    p.add_argument("--save-window", type=float, default=5, help="seconds of BGSAVE to cover under load")
    p.add_argument("--repeat", type=int, default=2, help="quiet saves and restarts per server")
    p.add_argument("--sample-ms", type=int, default=20)
    p.add_argument("--shards", type=int, default=0)
    default_bin = os.path.join(os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target")), "release", "shardis")
    p.add_argument("--binary", default=default_bin, help=f"shardis binary (default {default_bin})")
    p.add_argument("--servers", default="shardis,redis", help="sections 2-4 for these servers only")
    p.add_argument("--tmp", default=None, help="directory for both servers' data (default: a new one in /tmp)")
    p.add_argument("--keep", action="store_true", help="keep the data directories and server logs")
    args = p.parse_args()
    args.pipelines = [int(x) for x in args.pipelines.split(",")]
    sections = set(args.sections.split(","))

    if not os.path.exists(args.binary):
        sys.exit(f"no shardis binary at {args.binary}: cargo build --release (or --binary PATH)")
    for tool in ("redis-server", "redis-benchmark"):
        if not shutil.which(tool):
            sys.exit(f"{tool} not found (apt install redis-server redis-tools)")
    ncpu = os.cpu_count() or 1
    args.shards = args.shards or (ncpu if ncpu < 4 else ncpu // 2)
    version = subprocess.run(["redis-server", "--version"], capture_output=True, text=True).stdout.split()
    print(f"# shardis {args.shards} shards ({args.binary}) vs redis-server "
          f"{next((v[2:] for v in version if v.startswith('v=')), '?')}; {ncpu} CPUs, no pinning; {load_note()}")

    tmp = tempfile.mkdtemp(prefix="persist-bench-", dir=args.tmp)
    print(f"# data under {tmp}")
    fsync = res = derived = None
    # Do not leave servers behind on ^C.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    servers = []
    try:
        if "fsync" in sections:
            fsync = fsync_section(args, tmp)
        if "save" in sections:
            print(f"\n# sections 2-4: {args.keys} keys, one server at a time")
            res = {}
            for name, argv in (("shardis", shardis_argv(args, ["--appendonly", "no"])),
                               ("redis", redis_argv(["--appendonly", "no"]))):
                if name not in args.servers.split(","):
                    continue
                s = Server(name, argv, "--dir", os.path.join(tmp, name), os.path.join(tmp, f"{name}.log"))
                servers.append(s)
                res[name] = save_phase(s, args)
                print(f"# {name} done: populate {res[name]['populate_s']:.1f} s, quiet saves "
                      f"{', '.join(f'{x:.2f}' for x in res[name]['save_s'])} s", flush=True)
            derived = print_save_sections(res, args)
        summary(fsync, res, derived, args)
    finally:
        for s in servers:
            if s.proc is not None and s.proc.poll() is None:
                s.proc.kill()
                s.proc.wait()
        if args.keep:
            print(f"# kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
