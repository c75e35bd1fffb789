#!/usr/bin/env python3
"""Latency at a fixed, moderate request rate: shardis vs redis-server.

Starts both servers on free ports with persistence off (shardis: release
build, --shards = CPU count unless --shards) and drives each in turn with the
same paced load of GET and SET: --connections connections sharing a total of
--rate requests/s, random keys out of --keyspace (preloaded, 16-byte keys,
32-byte values), a --warmup then --seconds measured, A/B --rounds times.
Prints p50/p99/p99.9/max in microseconds for both, the p99 ratio, how late
the client itself sent (its own pacing error, included in the latencies),
and the server CPU time per request (utime + stime from /proc).

Latency is measured from each request's *scheduled* send time, not from when
it went out: a server stall delays every request due during it, and each of
them is charged the wait (no coordinated omission).

The driver is benches/latency_client.rs, a small Rust client built as a
harness-less bench target (std and libc only, hand-made log buckets as HDR
histograms use), not Python: one Python process cannot send 20 k requests/s
on schedule on a 2-core machine (persist.py's Python client does 2 k/s, one
request at a time), and its own jitter would swamp the servers'.
redis-benchmark has no request rate setting: it measures at saturation,
which is benches/compare.py's job. The client sleeps until a request is due
(timer slack lowered to 1 µs), so it takes little CPU from the servers.

    python3 benches/latency.py [--rate 20000] [--connections 10] [--seconds 10]
        [--warmup 2] [--rounds 2] [--keyspace 100000] [--shards N] [--binary PATH]

Needs redis-server (Debian: redis-server) and cargo; builds the client with
`cargo bench --bench latency_client --no-run` (CARGO_TARGET_DIR respected).
On a machine this small the servers, the client and anything else running
share the cores: the load average is printed before and after.
"""
import argparse, json, os, shutil, subprocess, sys, tempfile

sys.dont_write_bytecode = True  # importing compare.py must not leave benches/__pycache__ behind
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import compare  # noqa: E402  (free_port, wait_ready, cpu_seconds)

ROOT = compare.ROOT


def build_client():
    """Builds the load client; returns the path of its executable."""
    out = subprocess.run(["cargo", "bench", "--bench", "latency_client", "--no-run", "--message-format", "json"],
                         cwd=ROOT, capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"building the latency client failed:\n{out.stderr}")
    for line in out.stdout.splitlines():
        msg = json.loads(line)
        if msg.get("reason") == "compiler-artifact" and msg["target"]["name"] == "latency_client":
            if msg.get("executable"):
                return msg["executable"]
    sys.exit("cargo did not report the latency client's executable")


def drive(client, port, args, *extra):
    """One paced run; the client's `name=value` results as floats."""
    cmd = [client, "--port", str(port), "--rate", str(args.rate), "--connections", str(args.connections),
           "--warmup", str(args.warmup), "--seconds", str(args.seconds), "--keyspace", str(args.keyspace)]
    out = subprocess.run(cmd + list(extra), capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"latency client failed: {out.stderr.strip()}")
    return {k: float(v) for k, v in (kv.split("=") for kv in out.stdout.split())}


def load_note():
    one, five, _ = os.getloadavg()
    return f"load avg {one:.2f} (1 min) {five:.2f} (5 min)"


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--rate", type=int, default=20000, help="total requests/s")
    p.add_argument("--connections", type=int, default=10)
    p.add_argument("--seconds", type=float, default=10, help="measured seconds per run")
    p.add_argument("--warmup", type=float, default=2, help="unrecorded seconds before each run")
    p.add_argument("--rounds", type=int, default=2, help="A/B rounds")
    p.add_argument("--keyspace", type=int, default=100000)
    p.add_argument("--shards", type=int, default=0, help="shardis shards (default: CPU count)")
    default_bin = os.path.join(os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target")), "release", "shardis")
    p.add_argument("--binary", default=default_bin, help=f"shardis binary (default {default_bin})")
    args = p.parse_args()

    if not os.path.exists(args.binary):
        sys.exit(f"no shardis binary at {args.binary}: cargo build --release (or --binary PATH)")
    if not shutil.which("redis-server"):
        sys.exit("redis-server not found (apt install redis-server)")
    client = build_client()
    ncpu = os.cpu_count() or 1
    shards = args.shards or ncpu

    tmp = tempfile.mkdtemp()
    sport, rport = compare.free_port(), compare.free_port()
    servers = {
        "shardis": ([args.binary, "--port", str(sport), "--dir", os.path.join(tmp, "s"), "--shards", str(shards),
                     "--loglevel", "warning", "--appendonly", "no", "--save", ""], sport),
        "redis": (["redis-server", "--port", str(rport), "--dir", tmp, "--save", "", "--appendonly", "no"], rport),
    }
    procs = {}
    try:
        for name, (cmd, port) in servers.items():
            procs[name] = subprocess.Popen(cmd, stdout=subprocess.DEVNULL)
            compare.wait_ready(port)
            drive(client, port, args, "--preload", "--warmup", "0", "--seconds", "0")
        print(f"# shardis {shards} shards vs redis-server; {ncpu} CPUs, no pinning; {args.rate} req/s over "
              f"{args.connections} connections, GET/SET alternating on {args.keyspace} random keys; "
              f"{args.warmup:g} s warm-up + {args.seconds:g} s measured per run; {load_note()}")
        print("# latency from the scheduled send time, µs; lag = how late this client sent (part of the latency)")
        print(f"{'server':<9}{'round':>6}{'requests':>10}{'req/s':>8}{'p50':>9}{'p99':>9}{'p99.9':>9}{'max':>10}"
              f"{'lag p99':>9}{'lag max':>9}{'cpu us/req':>11}{'errors':>7}")
        p99 = {name: [] for name in servers}
        for rnd in range(1, args.rounds + 1):
            for name, (_, port) in servers.items():
                before = compare.cpu_seconds(procs[name].pid)
                r = drive(client, port, args)
                # Over the whole run, warm-up included.
                sent = args.rate * (args.warmup + args.seconds)
                cpu = (compare.cpu_seconds(procs[name].pid) - before) / sent * 1e6
                p99[name].append(r["p99_us"])
                print(f"{name:<9}{rnd:>6}{r['requests']:>10.0f}{r['rate']:>8.0f}{r['p50_us']:>9.1f}{r['p99_us']:>9.1f}"
                      f"{r['p999_us']:>9.1f}{r['max_us']:>10.1f}{r['lag_p99_us']:>9.1f}{r['lag_max_us']:>9.1f}"
                      f"{cpu:>11.2f}{r['errors']:>7.0f}", flush=True)
        ratios = [s / r for s, r in zip(p99["shardis"], p99["redis"])]
        print("p99 ratio shardis/redis per round: " + " ".join(f"{x:.2f}" for x in ratios)
              + f"; mean {sum(ratios) / len(ratios):.2f}")
        print(f"# {load_note()}")
    finally:
        for proc in procs.values():
            proc.terminate()
            proc.wait()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
