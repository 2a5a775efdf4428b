#!/usr/bin/env python3
"""mcp_client.py — check recall's MCP server with a real MCP client (the official Python SDK).

recall answers MCP in two places: `recall mcp` (stdio) and `recall serve`'s /mcp endpoint
(streamable HTTP). This script connects to one of them with the SDK's own transport and
`ClientSession`, the way an agent's host would, and checks the answers against the bundled
example vault (examples/vault, 16 notes), so the index it talks to must have been built from
that vault (`recall --index DIR index examples/vault`; `--no-embed` is fine).

What it checks, on one session (any failure is reported and the remaining checks still run):
  - initialize: the handshake completes; the server has a name and the tools capability;
  - tools/list: exactly search, related, read_note, recent, status, each with a description
    and an object input schema with the contract's fields (search requires `query`,
    read_note requires `note`); the SDK validates each result against a declared outputSchema;
  - tools/call of every tool with answers that are certain for this vault:
      search "levain hydration"            -> topics/sourdough_baking first
      read_note topics/sourdough_baking    -> its markdown (H1, every H2), sections, tags, and
                                              one section by heading path
      related topics/sourdough_baking      -> every note it links to, each result with reasons
      related --text                       -> topics/sourdough_baking among the results
      recent                               -> notes by `*Last updated:*` footer, newest first
                                              (the order is computed here from the vault files)
      status                               -> notes == number of .md files in the vault
    every successful result has structuredContent (a JSON object) and a text content block;
  - errors are tool results with isError=true and a helpful message, never a crash:
      read_note topics/nope                -> isError, the message names topics/nope
      read_note topics/sourdough_bakin     -> isError, the message suggests topics/sourdough_baking
      search '"unclosed'                   -> isError, the message mentions the quote
      read_note without `note`             -> isError or a JSON-RPC error
    and the session still answers afterwards.
Then a raw check without the SDK (which accepts snake_case keys and skips non-JSON lines, so it
would hide such bugs): the wire JSON has `structuredContent` / `isError` spelled as the spec
says; over stdio every stdout line is a JSON-RPC message and the server exits when its stdin
closes; over HTTP a foreign Host header gets 403 and, with --token, a missing token gets 401.

Usage (from the repository root):
  scripts/setup-python.sh        # once: .venv with the pinned SDK; prints .venv/bin/python
  ./target/release/recall --index /tmp/ix index examples/vault --no-embed
  .venv/bin/python tests/mcp_client.py --bin ./target/release/recall --index /tmp/ix
  .venv/bin/python tests/mcp_client.py --http http://127.0.0.1:PORT/mcp   # a running `recall serve`

Arguments (each falls back to an environment variable, then a default):
  --bin PATH     recall binary to launch as `PATH --index INDEX mcp`   env RECALL_BIN,
                 default ./target/release/recall (stdio only)
  --index DIR    index folder for the stdio server                    env RECALL_INDEX,
                 default ./index (stdio only)
  --http URL     test this streamable-HTTP endpoint instead of        env RECALL_MCP_URL
                 launching the stdio server, e.g. http://127.0.0.1:PORT/mcp
  --token T      bearer token for --http                              env RECALL_TOKEN
  --vault DIR    the vault the index was built from, read here to     env RECALL_VAULT,
                 compute expected answers                              default examples/vault
                                                                       next to this script
  --mode M       search mode for the search checks                    default lexical (works on
                 (lexical, hybrid or semantic)                         a --no-embed index)
  --timeout S    seconds allowed for each check                       default 60
The stdio server inherits this process's whole environment (RECALL_MODEL_DIR, RECALL_ORT_LIB,
XDG_CACHE_HOME, ...), unlike the SDK's default, which passes only HOME, PATH and a few others.

Exit status: 0 every check passed; 1 a check failed (each failure says what was expected and
what came back; the server's stderr goes to this script's stderr); 2 bad arguments.
Works with the pinned mcp 2.x SDK and with mcp 1.x (whose models use camelCase attributes).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

try:
    import anyio
    from mcp import ClientSession
    from mcp.client.stdio import StdioServerParameters, stdio_client
    from mcp.client.streamable_http import streamable_http_client
    from mcp.shared._httpx_utils import create_mcp_http_client
except ImportError as e:  # pragma: no cover - the message is the point
    if __name__ == "__main__" and any(a in ("-h", "--help") for a in sys.argv[1:]):
        print(__doc__)
        sys.exit(0)
    sys.exit(
        f"mcp_client.py: cannot import the MCP SDK ({e}); run scripts/setup-python.sh and use the "
        "python it prints (.venv/bin/python)"
    )

try:
    from mcp.shared.exceptions import MCPError as _ProtocolError  # mcp 2.x
except ImportError:  # mcp 1.x
    from mcp.shared.exceptions import McpError as _ProtocolError  # type: ignore[no-redef]

REPO = Path(__file__).resolve().parent.parent
TOOLS = {"search", "related", "read_note", "recent", "status"}
# The contract's input fields of each tool (the schemas may have more).
TOOL_FIELDS = {
    "search": {"query", "limit", "mode", "since", "before", "recent"},
    "related": {"note", "text", "limit", "unlinked"},
    "read_note": {"note", "section"},
    "recent": {"limit", "tag", "path"},
    "status": set(),
}
TOOL_REQUIRED = {"search": {"query"}, "read_note": {"note"}}
SEARCH_QUERY = "levain hydration"
SEARCH_EXPECTED = "topics/sourdough_baking"
NOTE = "topics/sourdough_baking"


def field(obj: Any, snake: str, camel: str | None = None) -> Any:
    """An attribute of an SDK model: snake_case in mcp 2.x, camelCase in mcp 1.x."""
    if hasattr(obj, snake):
        return getattr(obj, snake)
    return getattr(obj, camel or snake, None)


def short(value: Any, limit: int = 600) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= limit else text[:limit] + f"... ({len(text)} chars)"


# ---------------------------------------------------------------------------------------------
# Expectations, computed from the vault's files.


class Vault:
    """What the checks expect, read from the vault's markdown (ids, titles, H2s, tags, links, dates)."""

    def __init__(self, root: Path):
        self.root = root
        self.files = sorted(p for p in root.rglob("*.md") if not any(s.startswith(".") for s in p.relative_to(root).parts))
        self.ids = [p.relative_to(root).with_suffix("").as_posix() for p in self.files]
        self.updated: dict[str, str] = {}
        for note_id, path in zip(self.ids, self.files):
            m = re.search(r"^\*Last updated:\s*(\d{4}-\d{2}-\d{2})\*\s*$", path.read_text(encoding="utf-8"), re.M)
            if m:
                self.updated[note_id] = m.group(1)

    def text(self, note_id: str) -> str:
        return (self.root / f"{note_id}.md").read_text(encoding="utf-8")

    def title(self, note_id: str) -> str:
        m = re.search(r"^# (.+?)\s*$", self.text(note_id), re.M)
        return m.group(1) if m else note_id

    def h2s(self, note_id: str) -> list[str]:
        return re.findall(r"^## (.+?)\s*$", self.text(note_id), re.M)

    def tags_section(self, note_id: str) -> set[str]:
        m = re.search(r"^## Tags\s*\n(.+)$", self.text(note_id), re.M)
        return set(re.findall(r"`([^`]+)`", m.group(1))) if m else set()

    def links(self, note_id: str) -> set[str]:
        targets = {t.split("|")[0].split("#")[0].strip() for t in re.findall(r"\[\[([^\]]+)\]\]", self.text(note_id))}
        return {t for t in targets if t in self.ids and t != note_id}

    def recent_order(self, prefix: str = "") -> list[str]:
        """Note ids newest first by their `*Last updated:*` footer (ties by id, but this vault has none)."""
        dated = [(d, n) for n, d in self.updated.items() if n.startswith(prefix)]
        return [n for d, n in sorted(dated, key=lambda x: (x[0], x[1]), reverse=True)]


# ---------------------------------------------------------------------------------------------
# Bookkeeping: each check passes or records a failure; a step that raises is a failure too.


class Checks:
    def __init__(self, label: str, timeout: float):
        self.label = label
        self.timeout = timeout
        self.full_timeout = timeout
        self.passed = 0
        self.failures: list[str] = []
        self.step_name = ""

    def ok(self, cond: bool, what: str, got: Any = None) -> bool:
        if cond:
            self.passed += 1
        else:
            msg = f"[{self.label}] {self.step_name}: {what}"
            if got is not None:
                msg += f"\n      got: {short(got)}"
            self.failures.append(msg)
            print(f"FAIL {msg}", flush=True)
        return cond

    @asynccontextmanager
    async def step(self, name: str, timeout: float | None = None):
        """Runs one step with a deadline; an exception in it is a recorded failure, not the end.

        After a step times out, the session's later steps get 5 s each, so a hung server fails
        the run in seconds rather than in (number of steps x --timeout)."""
        self.step_name = name
        before = len(self.failures)
        limit = timeout if timeout is not None else self.timeout
        try:
            with anyio.fail_after(limit):
                yield
        except TimeoutError:
            self.ok(False, f"no answer within {limit:g} s")
            self.timeout = min(self.timeout, 5.0)
        except Exception as e:  # noqa: BLE001 - every error is a finding here
            self.ok(False, f"raised {type(e).__name__}: {e}")
        if len(self.failures) == before:
            print(f"ok   [{self.label}] {name}", flush=True)


# ---------------------------------------------------------------------------------------------
# The SDK session checks (same for both transports).


def text_blocks(result: Any) -> list[str]:
    return [b.text for b in (result.content or []) if getattr(b, "type", None) == "text"]


def check_success(ck: Checks, result: Any) -> dict:
    """A successful tool result: not isError, structuredContent an object, a non-empty text block."""
    is_error = field(result, "is_error", "isError")
    structured = field(result, "structured_content", "structuredContent")
    texts = text_blocks(result)
    ck.ok(not is_error, "the result should not have isError=true", texts)
    ck.ok(isinstance(structured, dict), "the result should have a structuredContent object", structured)
    ck.ok(any(t.strip() for t in texts), "the result should have a non-empty text content block", result.content)
    return structured if isinstance(structured, dict) else {}


def check_tool_error(ck: Checks, result: Any, must_mention: list[str]) -> None:
    """A tool error: isError=true with a text block that mentions each of `must_mention`."""
    is_error = field(result, "is_error", "isError")
    message = " ".join(text_blocks(result))
    ck.ok(is_error is True, "the result should have isError=true", message or result.content)
    ck.ok(bool(message.strip()), "the error should have a text message", result.content)
    for word in must_mention:
        ck.ok(word.lower() in message.lower(), f"the error message should mention {word!r}", message)


def results_of(ck: Checks, structured: dict) -> list[dict]:
    results = structured.get("results")
    if not ck.ok(isinstance(results, list), "structuredContent should have a `results` list", structured):
        return []
    ck.ok(all(isinstance(r, dict) for r in results), "every result should be an object", results)
    return [r for r in results if isinstance(r, dict)]


async def run_session(ck: Checks, session: ClientSession, vault: Vault, mode: str) -> None:
    async with ck.step("initialize"):
        init = await session.initialize()
        info = field(init, "server_info", "serverInfo")
        ck.ok(bool(info and info.name), "the server should name itself in serverInfo", info)
        caps = init.capabilities
        ck.ok(caps is not None and caps.tools is not None, "the server should declare the tools capability", caps)
        print(f"     server {info.name if info else '?'} {getattr(info, 'version', '')}, "
              f"protocol {field(init, 'protocol_version', 'protocolVersion')}", flush=True)

    async with ck.step("tools/list"):
        listed = await session.list_tools()
        tools = {t.name: t for t in listed.tools}
        ck.ok(set(tools) == TOOLS, f"the tools should be exactly {sorted(TOOLS)}", sorted(tools))
        for name in sorted(TOOLS & set(tools)):
            tool = tools[name]
            schema = field(tool, "input_schema", "inputSchema") or {}
            ck.ok(bool((tool.description or "").strip()), f"tool {name} should have a description")
            ck.ok(schema.get("type") == "object", f"tool {name}: the input schema should be an object", schema)
            props = set((schema.get("properties") or {}).keys())
            missing = TOOL_FIELDS[name] - props
            ck.ok(not missing, f"tool {name}: the input schema lacks {sorted(missing)}", schema)
            required = set(schema.get("required") or [])
            want = TOOL_REQUIRED.get(name, set())
            ck.ok(want <= required, f"tool {name}: the input schema should require {sorted(want)}", schema)
            ck.ok(required <= want, f"tool {name}: only {sorted(want) or 'nothing'} should be required", schema)
            limit = (schema.get("properties") or {}).get("limit")
            if limit is not None:
                ck.ok(limit.get("minimum") == 1 and limit.get("maximum") == 100,
                      f"tool {name}: `limit` should carry the bounds every face checks (1..100)", limit)
            out = field(tool, "output_schema", "outputSchema")
            if out is not None:
                ck.ok(out.get("type") == "object", f"tool {name}: an output schema should be an object", out)

    async with ck.step("status"):
        s = check_success(ck, await session.call_tool("status", {}))
        ck.ok(s.get("notes") == len(vault.ids), f"notes should be {len(vault.ids)}", s)
        ck.ok("fresh" in s, "structuredContent should have `fresh`", s)

    call = f"search {SEARCH_QUERY!r} mode={mode}"
    async with ck.step(call):
        r = await session.call_tool("search", {"query": SEARCH_QUERY, "mode": mode, "limit": 5})
        s = check_success(ck, r)
        results = results_of(ck, s)
        ck.ok(bool(results) and results[0].get("note") == SEARCH_EXPECTED,
              f"the first result should be {SEARCH_EXPECTED}", [x.get("note") for x in results])
        ck.ok(len(results) <= 5, "limit 5 should give at most 5 results", len(results))
        ck.ok([x.get("rank") for x in results] == list(range(1, len(results) + 1)),
              "results should be ranked 1, 2, ...", [x.get("rank") for x in results])
        for key in ("title", "score", "snippet"):
            ck.ok(all(key in x for x in results), f"every result should have `{key}`", results[:1])
        ck.ok(SEARCH_EXPECTED in " ".join(text_blocks(r)), f"the text block should name {SEARCH_EXPECTED}",
              text_blocks(r))

    call = f"read_note {NOTE}"
    async with ck.step(call):
        s = check_success(ck, await session.call_tool("read_note", {"note": NOTE}))
        title = vault.title(NOTE)
        ck.ok(s.get("note") == NOTE, f"note should be {NOTE}", s.get("note"))
        ck.ok(s.get("title") == title, f"title should be {title!r}", s.get("title"))
        md = s.get("markdown")
        if ck.ok(isinstance(md, str), "structuredContent should have the `markdown` text", s):
            ck.ok(f"# {title}" in md, f"the markdown should contain its H1 '# {title}'", md)
            for h2 in vault.h2s(NOTE):
                ck.ok(f"## {h2}" in md, f"the markdown should contain '## {h2}'", md)
        headings = [x.get("heading") for x in s.get("sections") or [] if isinstance(x, dict)]
        for h2 in vault.h2s(NOTE):
            ck.ok(f"{title} > {h2}" in headings, f"sections should include '{title} > {h2}'", headings)
        want_tags = vault.tags_section(NOTE)
        tags = set(s.get("tags") or [])
        ck.ok(want_tags <= tags, f"tags should include {sorted(want_tags)}", sorted(tags))
        ck.ok(s.get("truncated") is False, "a short note should not be truncated", s.get("truncated"))

    section = f"{vault.title(NOTE)} > Levain Hydration"
    call = f"read_note {NOTE} section={section!r}"
    async with ck.step(call):
        s = check_success(ck, await session.call_tool("read_note", {"note": NOTE, "section": section}))
        md = s.get("markdown") or ""
        ck.ok("Levain hydration changes the flavour" in md, "the markdown should be that section's text", md)
        ck.ok("## Dough Process" not in md, "the markdown should not run into the next section", md)

    call = f"related {NOTE}"
    async with ck.step(call):
        s = check_success(ck, await session.call_tool("related", {"note": NOTE, "limit": 10}))
        results = results_of(ck, s)
        by_note = {x.get("note"): x for x in results}
        ck.ok(bool(results), "there should be related notes", s)
        ck.ok(NOTE not in by_note, "a note is never related to itself", list(by_note))
        ck.ok(all(isinstance(x.get("reasons"), list) and x["reasons"] for x in results),
              "every related note should have non-empty reasons", results)
        for target in sorted(vault.links(NOTE)):
            reasons = (by_note.get(target) or {}).get("reasons") or []
            ck.ok(any("link" in str(x) for x in reasons),
                  f"{target} (linked from the note) should be related with a link reason", by_note.get(target, list(by_note)))

    text = "how to build and hydrate a levain for sourdough"
    call = f"related text={text!r}"
    async with ck.step(call):
        s = check_success(ck, await session.call_tool("related", {"text": text}))
        results = results_of(ck, s)
        ck.ok(NOTE in [x.get("note") for x in results], f"{NOTE} should be among the results",
              [x.get("note") for x in results])
        ck.ok(all(x.get("reasons") for x in results), "every related note should have reasons", results)

    async with ck.step("recent"):
        s = check_success(ck, await session.call_tool("recent", {}))
        results = results_of(ck, s)
        got = [x.get("note") for x in results]
        want = vault.recent_order()
        ck.ok(bool(got) and got == want[: len(got)], f"notes should be newest first: {want}", got)
        dates = [str(x.get("updated", ""))[:10] for x in results]
        ck.ok(dates == [vault.updated.get(n, "") for n in got], "`updated` should be each note's Last updated date", dates)

    async with ck.step("recent limit=3 path=topics/"):
        s = check_success(ck, await session.call_tool("recent", {"limit": 3, "path": "topics/"}))
        got = [x.get("note") for x in results_of(ck, s)]
        want = vault.recent_order("topics/")[:3]
        ck.ok(got == want, f"should be {want}", got)

    for args, mention in (
        ({"note": "topics/nope"}, ["topics/nope"]),
        ({"note": "topics/sourdough_bakin"}, ["topics/sourdough_baking"]),
    ):
        async with ck.step(f"read_note {args['note']} (unknown)"):
            check_tool_error(ck, await session.call_tool("read_note", args), mention)

    async with ck.step("search '\"unclosed' (malformed)"):
        r = await session.call_tool("search", {"query": '"unclosed', "mode": mode})
        check_tool_error(ck, r, ["quote"])

    # The same checks, and the same words, as the command line and HTTP.
    for tool, args, mention in (
        ("search", {"query": "bread", "limit": 0}, ["bad limit `0`: give a whole number from 1 to 100"]),
        ("recent", {"limit": 101}, ["bad limit `101`: give a whole number from 1 to 100"]),
        ("related", {"text": "  "}, ["the text is empty"]),
        ("search", {"query": "bread", "since": "2025-13"}, ["bad date `2025-13`", "YYYY-MM-DD, a window like 7d"]),
        ("search", {"query": "tags:python"}, ["unknown field `tags:`; did you mean `tag:`?"]),
    ):
        async with ck.step(f"{tool} {args} (refused)"):
            check_tool_error(ck, await session.call_tool(tool, args), mention)

    async with ck.step("read_note without `note`"):
        try:
            r = await session.call_tool("read_note", {})
        except _ProtocolError as e:
            # A JSON-RPC error (invalid params, -32602) is a fine answer too; a lost connection
            # (the SDK's -32000 "Connection closed") is not.
            code = getattr(getattr(e, "error", None), "code", None)
            ck.ok(code is not None and code != -32000, "a missing argument should not end the session", f"{code}: {e}")
        else:
            ck.ok(field(r, "is_error", "isError") is True, "a missing required argument should be an error", r)

    async with ck.step("status after the errors (the session still works)"):
        s = check_success(ck, await session.call_tool("status", {}))
        ck.ok(s.get("notes") == len(vault.ids), f"notes should be {len(vault.ids)}", s)


# ---------------------------------------------------------------------------------------------
# Raw wire checks, without the SDK.

INIT = {
    "jsonrpc": "2.0", "id": 1, "method": "initialize",
    "params": {"protocolVersion": "2025-06-18", "capabilities": {},
               "clientInfo": {"name": "recall-mcp-client-raw", "version": "0"}},
}
INITIALIZED = {"jsonrpc": "2.0", "method": "notifications/initialized"}
CALL_OK = {"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "read_note", "arguments": {"note": NOTE}}}
CALL_ERR = {"jsonrpc": "2.0", "id": 3, "method": "tools/call",
            "params": {"name": "read_note", "arguments": {"note": "topics/nope"}}}


def check_wire(ck: Checks, answers: dict[int, dict]) -> None:
    """The JSON of the two tools/call answers spells the spec's camelCase keys."""
    init = answers.get(1, {})
    ck.ok("result" in init and "protocolVersion" in init["result"], "initialize should answer with a protocolVersion", init)
    ok = answers.get(2, {}).get("result") or {}
    ck.ok(isinstance(ok.get("structuredContent"), dict), "read_note's result should have a `structuredContent` object", ok)
    ck.ok(any(c.get("type") == "text" for c in ok.get("content") or []), "read_note's result should have a text block", ok)
    ck.ok(not ok.get("isError"), "read_note of a real note should not have isError", ok)
    err = answers.get(3, {}).get("result") or {}
    ck.ok(err.get("isError") is True, "read_note topics/nope should have `isError`: true in its result", answers.get(3))


async def raw_stdio(ck: Checks, bin_path: str, index: str, env: dict[str, str]) -> None:
    async with ck.step("raw stdio: camelCase keys, only JSON on stdout, exit on EOF", 2 * ck.full_timeout + 15):
        await anyio.to_thread.run_sync(_raw_stdio, ck, bin_path, index, env, ck.full_timeout)


def _raw_stdio(ck: Checks, bin_path: str, index: str, env: dict[str, str], timeout: float) -> None:
    proc = subprocess.Popen([bin_path, "--index", index, "mcp"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=None, env=env, text=True, encoding="utf-8")
    lines: list[str] = []
    answers: dict[int, dict] = {}
    done = threading.Event()

    def reader() -> None:
        for line in proc.stdout:  # type: ignore[union-attr]
            lines.append(line)
            try:
                msg = json.loads(line)
                if isinstance(msg, dict) and msg.get("id") in (1, 2, 3) and ("result" in msg or "error" in msg):
                    answers[msg["id"]] = msg
            except ValueError:
                pass
            if len(answers) == 3:
                done.set()
        done.set()

    threading.Thread(target=reader, daemon=True).start()
    try:
        assert proc.stdin is not None
        for msg in (INIT, INITIALIZED, CALL_OK, CALL_ERR):
            if msg is INITIALIZED:  # a client sends it only after the initialize answer
                deadline = time.monotonic() + timeout
                while 1 not in answers and time.monotonic() < deadline and proc.poll() is None:
                    time.sleep(0.01)
            proc.stdin.write(json.dumps(msg) + "\n")
            proc.stdin.flush()
        done.wait(timeout)
        ck.ok(len(answers) == 3, "the server should answer initialize and both calls", lines)
        check_wire(ck, answers)
        bad = [ln for ln in lines if not _is_jsonrpc(ln)]
        ck.ok(not bad, "every stdout line should be a JSON-RPC message (logs belong on stderr)", bad)
        proc.stdin.close()
        try:
            code = proc.wait(timeout=10)
            ck.ok(code == 0, "the server should exit 0 when its stdin closes", code)
        except subprocess.TimeoutExpired:
            ck.ok(False, "the server should exit within 10 s of its stdin closing")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def _is_jsonrpc(line: str) -> bool:
    try:
        msg = json.loads(line)
    except ValueError:
        return False
    return isinstance(msg, dict) and msg.get("jsonrpc") == "2.0"


def _post(url: str, body: dict, headers: dict[str, str], timeout: float) -> tuple[int, dict[str, str], str]:
    req = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST", headers={
        "Content-Type": "application/json", "Accept": "application/json, text/event-stream", **headers})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return resp.status, {k.lower(): v for k, v in resp.headers.items()}, resp.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as e:
        return e.code, {k.lower(): v for k, v in e.headers.items()}, e.read().decode("utf-8", "replace")


def _messages(content_type: str, body: str) -> list[dict]:
    """JSON-RPC messages of a POST answer: one JSON body, or the `data:` of each SSE event."""
    if content_type.startswith("application/json"):
        msg = json.loads(body)
        return msg if isinstance(msg, list) else [msg]
    out = []
    for event in re.split(r"\r?\n\r?\n", body):
        data = "\n".join(ln[5:].lstrip(" ") for ln in event.splitlines() if ln.startswith("data:"))
        if data.strip():
            out.append(json.loads(data))
    return out


async def raw_http(ck: Checks, url: str, token: str | None) -> None:
    async with ck.step("raw http: camelCase keys, Host guard, token", 8 * ck.full_timeout):
        await anyio.to_thread.run_sync(_raw_http, ck, url, token, ck.full_timeout)


def _raw_http(ck: Checks, url: str, token: str | None, timeout: float) -> None:
    auth = {"Authorization": f"Bearer {token}"} if token else {}
    status, _, body = _post(url, INIT, {**auth, "Host": "evil.example"}, timeout)
    ck.ok(status == 403, "a request with a foreign Host header should get 403", (status, body))
    if token:
        status, _, body = _post(url, INIT, {}, timeout)
        ck.ok(status == 401, "a request without the bearer token should get 401", (status, body))

    answers: dict[int, dict] = {}
    headers = dict(auth)
    status, h, body = _post(url, INIT, headers, timeout)
    if not ck.ok(status == 200, "initialize should get 200", (status, h, body)):
        return
    for msg in _messages(h.get("content-type", ""), body):
        answers[msg.get("id")] = msg
    if "mcp-session-id" in h:
        headers["Mcp-Session-Id"] = h["mcp-session-id"]
    version = ((answers.get(1) or {}).get("result") or {}).get("protocolVersion")
    if version:
        headers["MCP-Protocol-Version"] = version
    status, _, body = _post(url, INITIALIZED, headers, timeout)
    ck.ok(status in (200, 202), "notifications/initialized should get 202", (status, body))
    for call in (CALL_OK, CALL_ERR):
        status, h, body = _post(url, call, headers, timeout)
        ck.ok(status == 200, f"tools/call id {call['id']} should get 200", (status, body))
        if status == 200:
            for msg in _messages(h.get("content-type", ""), body):
                if isinstance(msg, dict) and "id" in msg:
                    answers[msg["id"]] = msg
    check_wire(ck, answers)
    if "Mcp-Session-Id" in headers:  # end the session politely (405 means the server keeps none)
        req = urllib.request.Request(url, method="DELETE", headers=headers)
        try:
            urllib.request.urlopen(req, timeout=timeout).close()
        except urllib.error.HTTPError:
            pass


# ---------------------------------------------------------------------------------------------


async def main_async(args: argparse.Namespace) -> int:
    vault = Vault(Path(args.vault))
    label = "http" if args.http else "stdio"
    ck = Checks(label, args.timeout)
    async with AsyncExitStack() as stack:
        if args.http:
            headers = {"Authorization": f"Bearer {args.token}"} if args.token else None
            client = await stack.enter_async_context(create_mcp_http_client(headers=headers))
            streams = await stack.enter_async_context(streamable_http_client(args.http, http_client=client))
            print(f"mcp_client: connecting to {args.http}", flush=True)
        else:
            env = dict(os.environ)
            params = StdioServerParameters(command=args.bin, args=["--index", args.index, "mcp"], env=env)
            streams = await stack.enter_async_context(stdio_client(params))
            print(f"mcp_client: launched {args.bin} --index {args.index} mcp", flush=True)
        session = await stack.enter_async_context(ClientSession(streams[0], streams[1]))
        await run_session(ck, session, vault, args.mode)
    if args.http:
        await raw_http(ck, args.http, args.token)
    else:
        await raw_stdio(ck, args.bin, args.index, dict(os.environ))
    print(f"mcp_client ({label}): {ck.passed} passed, {len(ck.failures)} failed", flush=True)
    if ck.failures:
        print("\nfailures:\n" + "\n".join(f"  - {f}" for f in ck.failures), file=sys.stderr, flush=True)
        return 1
    return 0


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="mcp_client.py",
        description="Check recall's MCP server (stdio `recall mcp`, or `recall serve`'s /mcp) with the "
        "official MCP Python SDK against an index of examples/vault. See the module docstring.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="exit status: 0 all checks passed, 1 a check failed, 2 bad arguments",
    )
    env = os.environ.get
    p.add_argument("--bin", default=env("RECALL_BIN", "./target/release/recall"),
                   help="recall binary to launch as `BIN --index INDEX mcp` (env RECALL_BIN; default %(default)s)")
    p.add_argument("--index", default=env("RECALL_INDEX", "./index"),
                   help="index folder for the stdio server (env RECALL_INDEX; default %(default)s)")
    p.add_argument("--http", metavar="URL", default=env("RECALL_MCP_URL"),
                   help="check this streamable-HTTP endpoint (e.g. http://127.0.0.1:PORT/mcp) instead of "
                   "launching the stdio server (env RECALL_MCP_URL)")
    p.add_argument("--token", default=env("RECALL_TOKEN"), help="bearer token for --http (env RECALL_TOKEN)")
    p.add_argument("--vault", default=env("RECALL_VAULT", str(REPO / "examples" / "vault")),
                   help="the vault the index was built from (env RECALL_VAULT; default examples/vault)")
    p.add_argument("--mode", default="lexical", choices=["lexical", "hybrid", "semantic"],
                   help="search mode for the search check (default %(default)s: works without embeddings)")
    p.add_argument("--timeout", type=float, default=60.0, help="seconds allowed for each check (default %(default)s)")
    args = p.parse_args(argv)
    if not Path(args.vault, "topics", "sourdough_baking.md").is_file():
        p.error(f"--vault {args.vault} is not the bundled example vault (no topics/sourdough_baking.md)")
    if args.http:
        u = urlsplit(args.http)
        if u.scheme not in ("http", "https") or not u.netloc:
            p.error(f"--http {args.http!r} is not an http(s) URL like http://127.0.0.1:PORT/mcp")
    else:
        if not (os.path.isfile(args.bin) and os.access(args.bin, os.X_OK)):
            p.error(f"--bin {args.bin}: no executable there (build with `cargo build --release`, or set RECALL_BIN)")
        if not os.path.isdir(args.index):
            p.error(f"--index {args.index}: no such folder (build it: {args.bin} --index {args.index} index "
                    f"{args.vault} --no-embed)")
    return args


def main() -> int:
    args = parse_args(sys.argv[1:])
    try:
        return anyio.run(main_async, args)
    except KeyboardInterrupt:
        return 130
    except BaseException as e:  # noqa: BLE001 - a transport that could not start: say so plainly
        while isinstance(e, BaseExceptionGroup) and len(e.exceptions) == 1:
            e = e.exceptions[0]
        print(f"mcp_client: FAIL: the session could not run: {type(e).__name__}: {e}", file=sys.stderr, flush=True)
        return 1


if __name__ == "__main__":
    sys.exit(main())
