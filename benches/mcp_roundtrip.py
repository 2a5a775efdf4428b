"""Round-trip time of MCP `search` tool calls over stdio, measured with the official Python
MCP SDK (the `mcp` package), the way an agent's client calls recall.

Usage: python benches/mcp_roundtrip.py --queries FILE [--calls 200] [--modes hybrid,lexical]
           [--limit 10] [--warmup 5] [--server-log FILE] [--time-limit 300] -- COMMAND ARGS...
  e.g. .venv/bin/python benches/mcp_roundtrip.py --queries q.txt -- ./target/release/recall --index IDX mcp

Spawns COMMAND (one server process for the whole run), initializes the session, checks that
the server lists a `search` tool, then for each mode makes WARMUP untimed calls and CALLS
timed ones, one at a time: `call_tool("search", {"query": Q, "mode": MODE, "limit": LIMIT})`
with Q from FILE (one query a line, in order, wrapping around). A call's time runs from
sending the request to the parsed result (JSON-RPC framing, the pipe both ways and the
SDK's validation included). A call that raises or returns isError counts as an error.
Prints one JSON object: the SDK version, startup_ms (spawn to initialized), and per mode
calls, errors, p50/p90/p99/mean/max in ms, the server's own took_ms median (from the
structured result, when it has one) and results_p50 (results per call).
Exit status 1 when the server cannot be started or has no `search` tool.
"""
import argparse
import json
import math
import os
import statistics
import sys
import time
from importlib import metadata

import anyio
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client


def field(obj, snake, camel):
    """A result field under its SDK 2.x (snake_case) or 1.x (camelCase) name."""
    value = getattr(obj, snake, None)
    return getattr(obj, camel, None) if value is None else value


def pct(values, p):
    """Nearest-rank percentile (the one latency.sh uses)."""
    s = sorted(values)
    return s[max(0, math.ceil(p * len(s) / 100) - 1)] if s else float("nan")


def summary(times, took, counts, errors):
    return {
        "calls": len(times),
        "errors": errors,
        "p50_ms": pct(times, 50),
        "p90_ms": pct(times, 90),
        "p99_ms": pct(times, 99),
        "mean_ms": statistics.fmean(times) if times else float("nan"),
        "max_ms": max(times) if times else float("nan"),
        "server_took_p50_ms": statistics.median(took) if took else None,
        "results_p50": statistics.median(counts) if counts else None,
    }


async def run(args, queries):
    env = dict(os.environ)  # the SDK's default environment drops RECALL_* and the model's paths
    params = StdioServerParameters(command=args.command[0], args=args.command[1:], env=env)
    errlog = open(args.server_log, "w") if args.server_log else sys.stderr
    out = {"sdk": f"mcp {metadata.version('mcp')}", "command": args.command, "modes": {}}
    error_samples = []
    try:
        t0 = time.perf_counter()
        async with stdio_client(params, errlog=errlog) as (read, write):
            async with ClientSession(read, write) as session:
                init = await session.initialize()
                out["startup_ms"] = (time.perf_counter() - t0) * 1000
                info = field(init, "server_info", "serverInfo")
                out["server"] = f"{getattr(info, 'name', '?')} {getattr(info, 'version', '')}".strip()
                tools = [t.name for t in (await session.list_tools()).tools]
                out["tools"] = tools
                if "search" not in tools:
                    out["fatal"] = f"the server has no `search` tool (it lists {tools})"
                    return out
                k = 0
                for mode in args.modes:
                    times, took, counts, errors = [], [], [], 0
                    for i in range(args.warmup + args.calls):
                        q = queries[k % len(queries)]
                        k += 1
                        arguments = {"query": q, "mode": mode, "limit": args.limit}
                        t = time.perf_counter()
                        try:
                            r = await session.call_tool("search", arguments)
                            failed = bool(field(r, "is_error", "isError"))
                            why = " ".join(getattr(c, "text", "") for c in r.content)[:300] if failed else ""
                        except Exception as e:  # a protocol error is an error of this call
                            r, failed, why = None, True, f"{type(e).__name__}: {e}"[:300]
                        dt = (time.perf_counter() - t) * 1000
                        if i < args.warmup:
                            continue
                        times.append(dt)
                        if failed:
                            errors += 1
                            if len(error_samples) < 3:
                                error_samples.append({"mode": mode, "query": q, "error": why})
                            continue
                        sc = field(r, "structured_content", "structuredContent")
                        if isinstance(sc, dict):
                            if isinstance(sc.get("took_ms"), (int, float)):
                                took.append(sc["took_ms"])
                            if isinstance(sc.get("results"), list):
                                counts.append(len(sc["results"]))
                    out["modes"][mode] = summary(times, took, counts, errors)
    finally:
        if errlog is not sys.stderr:
            errlog.close()
    out["error_samples"] = error_samples
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--queries", required=True, help="one query a line")
    ap.add_argument("--calls", type=int, default=200, help="timed calls per mode")
    ap.add_argument("--modes", default="hybrid,lexical")
    ap.add_argument("--limit", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=5, help="untimed calls per mode first")
    ap.add_argument("--server-log", help="the server's stderr (default: this stderr)")
    ap.add_argument("--time-limit", type=float, default=300, help="seconds for the whole run")
    ap.add_argument("command", nargs=argparse.REMAINDER, help="-- COMMAND ARGS... (the MCP server)")
    args = ap.parse_args()
    if args.command[:1] == ["--"]:
        args.command = args.command[1:]
    if not args.command:
        ap.error("give the server command after --")
    args.modes = [m for m in args.modes.split(",") if m]
    with open(args.queries, encoding="utf-8") as f:
        queries = [line.strip() for line in f if line.strip()]
    if not queries:
        sys.exit(f"mcp_roundtrip: no queries in {args.queries}")

    async def limited():
        with anyio.fail_after(args.time_limit):
            return await run(args, queries)

    try:
        out = anyio.run(limited)
    except TimeoutError:
        sys.exit(f"mcp_roundtrip: not done after {args.time_limit:.0f} s")
    except Exception as e:  # the SDK wraps failures in (nested) exception groups
        leaves = []

        def walk(x):
            for sub in getattr(x, "exceptions", None) or []:
                walk(sub)
            if not getattr(x, "exceptions", None):
                leaves.append(f"{type(x).__name__}: {x}")

        walk(e)
        log = f" (its stderr: {args.server_log})" if args.server_log else ""
        sys.exit(f"mcp_roundtrip: the MCP session with {' '.join(args.command)} failed{log}: {'; '.join(leaves)}")
    if out.get("fatal"):
        sys.exit(f"mcp_roundtrip: {out['fatal']}")
    print(json.dumps(out))


if __name__ == "__main__":
    main()
