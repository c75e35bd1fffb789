#!/usr/bin/env python3
"""Side-by-side load run: shardis vs redis-server on this machine.

Starts both servers on free ports with persistence off, runs redis-benchmark
against each in turn (A/B/A/B, several rounds, median), and prints for every
test: requests/s of both, the ratio, and server CPU time per request (the run
time of all the server's threads from /proc/PID/task/*/schedstat, before and after the run).

    python3 benches/compare.py [--rounds 3] [--requests 100000] [--clients 50]
                               [--pipelines 1,16] [--tests set,get,...] [--shards N]
                               [--keyspace N] [--baseline PATH]

`--keyspace N` passes `-r N` to redis-benchmark: random keys out of N, so the
keys of one MSET land on different shards (without it every key is the same).

`--baseline PATH` compares with another shardis binary instead of
redis-server, e.g. a build of an earlier commit, to see what a change costs:

    git worktree add /tmp/base <rev> && (cd /tmp/base && cargo build --release)
    python3 benches/compare.py --baseline /tmp/base/target/release/shardis \
        --tests set,get,mset --keyspace 100000

Needs redis-server and redis-benchmark (Debian: redis-server, redis-tools) and
a release build (cargo build --release).
"""
import argparse, os, shutil, socket, statistics, subprocess, sys, tempfile, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TICK = os.sysconf("SC_CLK_TCK")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_ready(port):
    for _ in range(500):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                s.sendall(b"PING\r\n")
                if s.recv(16).startswith(b"+PONG"):
                    return
        except OSError:
            pass
        time.sleep(0.02)
    sys.exit(f"server on port {port} did not start")


def cpu_seconds(pid):
    """CPU time of all the process's threads so far. schedstat counts in
    nanoseconds; utime+stime in /proc/PID/stat only in clock ticks (10 ms),
    too coarse for a pipelined run of a tenth of a second."""
    try:
        total = 0
        for tid in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
                total += int(f.read().split()[0])
        return total / 1e9
    except (OSError, ValueError, IndexError):
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / TICK


def lrange_count(test):
    """N of an LRANGE_N test (lrange_100 ...), else None."""
    name, _, n = test.partition("_")
    return int(n) if name == "lrange" and n.isdigit() else None


def prepare(port, test, cpus):
    """What a test needs in the server before it is measured. redis-benchmark's
    own LRANGE_N tests first push one element per request and then report
    the push phase first, so their output and the server's CPU time would
    mix both phases: the list is filled here instead, outside the measured
    window, as redis-benchmark fills it (LPUSH mylist xxx)."""
    if lrange_count(test):
        cmd = ["redis-benchmark", "-p", str(port), "-n", "10000", "-P", "16", "-q", "LPUSH", "mylist", "xxx"]
        if cpus:
            cmd = ["taskset", "-c", cpus] + cmd
        subprocess.run(cmd, capture_output=True, check=True)


def run_benchmark(port, test, pipeline, args, cpus):
    cmd = ["redis-benchmark", "-p", str(port), "-n", str(args.requests),
           "-c", str(args.clients), "-P", str(pipeline), "-q", "--csv"]
    if args.keyspace:
        cmd += ["-r", str(args.keyspace)]
    n = lrange_count(test)
    # LRANGE_N as redis-benchmark sends it, without its push phase.
    cmd += ["LRANGE", "mylist", "0", str(n - 1)] if n else ["-t", test]
    if cpus:
        cmd = ["taskset", "-c", cpus] + cmd
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    for line in out.splitlines():
        parts = [p.strip('"') for p in line.split(",")]
        if len(parts) >= 2 and parts[0] != "test":
            try:
                return float(parts[1])
            except ValueError:
                pass
    raise RuntimeError(f"no result from redis-benchmark: {out}")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--requests", type=int, default=100000)
    p.add_argument("--clients", type=int, default=50)
    p.add_argument("--pipelines", default="1,16")
    p.add_argument("--tests", default="set,get,incr,lpush,rpop,sadd,hset,zadd,mset,lrange_100")
    p.add_argument("--shards", type=int, default=0)
    p.add_argument("--keyspace", type=int, default=0)
    p.add_argument("--baseline", default=None, help="another shardis binary to compare with, instead of redis")
    args = p.parse_args()

    binary = os.path.join(ROOT, "target", "release", "shardis")
    if not os.path.exists(binary):
        sys.exit("build first: cargo build --release")
    for tool in ("redis-server", "redis-benchmark"):
        if not shutil.which(tool):
            sys.exit(f"{tool} not found (apt install redis-server redis-tools)")

    ncpu = os.cpu_count() or 1
    # Pin servers and client apart where the machine allows it.
    if ncpu >= 4:
        server_cpus, client_cpus = f"0-{ncpu // 2 - 1}", f"{ncpu // 2}-{ncpu - 1}"
        print(f"# servers on CPUs {server_cpus}, redis-benchmark on {client_cpus}")
    else:
        server_cpus, client_cpus = None, None
        print(f"# {ncpu} CPUs: servers and redis-benchmark share them (no pinning)")

    tmp = tempfile.mkdtemp()
    sport, rport = free_port(), free_port()
    shards = args.shards or (ncpu if ncpu < 4 else ncpu // 2)
    scmd = [binary, "--port", str(sport), "--dir", os.path.join(tmp, "s"), "--shards", str(shards),
            "--loglevel", "warning", "--appendonly", "no", "--save", ""]
    rcmd = ["redis-server", "--port", str(rport), "--dir", tmp, "--save", "", "--appendonly", "no"]
    other = "redis"
    if args.baseline:
        other = "baseline"
        rcmd = [args.baseline] + scmd[1:]
        rcmd[rcmd.index("--port") + 1] = str(rport)
        rcmd[rcmd.index("--dir") + 1] = os.path.join(tmp, "b")
    if server_cpus:
        scmd, rcmd = ["taskset", "-c", server_cpus] + scmd, ["taskset", "-c", server_cpus] + rcmd
    servers = {
        "shardis": (subprocess.Popen(scmd, stdout=subprocess.DEVNULL), sport),
        other: (subprocess.Popen(rcmd, stdout=subprocess.DEVNULL), rport),
    }
    try:
        for _, port in servers.values():
            wait_ready(port)
        print(f"# shardis {shards} shards vs {args.baseline or 'redis-server'}; {args.clients} clients, "
              f"{args.requests} requests, keyspace {args.keyspace or 'none'}, median of {args.rounds} A/B rounds")
        print(f"{'test':<12}{'P':>3}{'shardis rps':>14}{other + ' rps':>14}{'ratio':>7}"
              f"{'shardis us/req':>16}{other + ' us/req':>16}{'cpu ratio':>11}")
        for pipeline in [int(x) for x in args.pipelines.split(",")]:
            for test in args.tests.split(","):
                rps = {"shardis": [], other: []}
                cpu = {"shardis": [], other: []}
                for _, port in servers.values():
                    prepare(port, test, client_cpus)
                for _ in range(args.rounds):
                    for name, (proc, port) in servers.items():
                        before = cpu_seconds(proc.pid)
                        r = run_benchmark(port, test, pipeline, args, client_cpus)
                        used = cpu_seconds(proc.pid) - before
                        rps[name].append(r)
                        cpu[name].append(used / args.requests * 1e6)
                s, r = statistics.median(rps["shardis"]), statistics.median(rps[other])
                sc, rc = statistics.median(cpu["shardis"]), statistics.median(cpu[other])
                print(f"{test:<12}{pipeline:>3}{s:>14.0f}{r:>14.0f}{s / r:>7.2f}{sc:>16.2f}{rc:>16.2f}"
                      f"{(sc / rc if rc else float('nan')):>11.2f}", flush=True)
    finally:
        for proc, _ in servers.values():
            proc.terminate()
            proc.wait()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
