#!/usr/bin/env python3
"""mcp_client.py — check recall's MCP server with a real MCP client (the official Python SDK).

recall answers MCP in two places: `recall mcp` (stdio) and `recall serve`'s /mcp endpoint
(streamable HTTP). This script connects to one of them with the SDK's own transport and
`ClientSession`, the way an agent's host would, and checks the answers against the bundled
example vault (examples/vault, 16 notes), so the index it talks to must have been built from
that vault (`recall --index DIR index examples/vault`; `--no-embed` is fine).

What it checks, on one session (any failure is reported and the remaining checks still run):
  - initialize: the handshake completes; the server has a name and the tools, resources and
    prompts capabilities;
  - tools/list: exactly search, related, read_note, recent, status, brief (plus remember and
    reinforce with --allow-write), each with a description and an object input schema with the
    contract's fields (search requires `query`, read_note requires `note`, ...); the read tools
    are annotated read-only, the write tools not read-only and not destructive; the SDK
    validates each result against a declared outputSchema;
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
    and the session still answers afterwards;
  - without --allow-write, `remember` (a dry run) and `reinforce` (of a note that does not
    exist) are unknown tools: a JSON-RPC error, nothing written whatever the server does;
  - resources: resources/templates/list gives `recall://notes/{id}`; resources/list gives
    every note as `recall://notes/<id>` (text/markdown), most recently updated first, in one
    page (16 < 100, so no nextCursor); a bad cursor is an error; resources/read of
    topics/python_development is the file's text, byte for byte; an unknown note, a foreign
    scheme and a path out of the vault are errors;
  - prompts and brief: prompts/list has `briefing` (optional arguments topic, budget); the
    `brief` tool with budget 300 takes at most 300 tokens (and, ASCII here, at most 4 x 300
    characters); prompts/get briefing {budget: "300"} is one user message holding that
    briefing's markdown; a topic puts its note first; a bad budget and an unknown prompt are
    errors.
With --allow-write (the write-mode session; the vault must be a PRIVATE COPY of the example
vault, never examples/vault itself, and the server must serve that copy: status says so, or
nothing is written), after the checks above:
  - remember {title, body, tags, links} -> written, indexed, the file in the memory format,
    and `search` finds it first within 1 s of the remember call starting;
  - the same title again -> not an error: written=false, duplicates[0].why == "same title";
    with force=true -> isError "already exists", the file untouched; an empty title -> isError;
  - reinforce topics/python_development strength=0.9 -> only the `*Last updated: ...*` and
    `*Strength: ...*` lines of the file change (every other line byte for byte the same), and
    read_note shows the new strength;
  - the file edited on disk (a line appended) without an update -> reinforce is isError
    "changed since it was indexed" and the file keeps the edit (the server must not re-index
    the file meanwhile: start it with --no-watch, as this script does over stdio);
  - remember until the vault holds 101 notes, then resources/list pages: 100 and a nextCursor,
    then the rest without one, every note exactly once; status counts them all.
Then a raw check without the SDK (which accepts snake_case keys and skips non-JSON lines, so it
would hide such bugs): the wire JSON has `structuredContent` / `isError` spelled as the spec
says; over stdio every stdout line is a JSON-RPC message and the server exits when its stdin
closes; over HTTP a foreign Host header gets 403 and, with --token, a missing token gets 401.

Usage (from the repository root):
  scripts/setup-python.sh        # once: .venv with the pinned SDK; prints .venv/bin/python
  ./target/release/recall --index /tmp/ix index examples/vault --no-embed
  .venv/bin/python tests/mcp_client.py --bin ./target/release/recall --index /tmp/ix
  .venv/bin/python tests/mcp_client.py --http http://127.0.0.1:PORT/mcp   # a running `recall serve`
  # the write mode, on a private copy of the vault:
  cp -r examples/vault /tmp/v && ./target/release/recall --index /tmp/iw index /tmp/v --no-embed
  .venv/bin/python tests/mcp_client.py --index /tmp/iw --vault /tmp/v --allow-write

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
  --allow-write  the write-mode session: the stdio server is launched as
                 `BIN --index INDEX mcp --allow-write --no-watch`; with --http, the server must
                 have been started with --allow-write (and --no-watch). --vault must then be a
                 private copy of the example vault (examples/vault itself is refused): this
                 session writes notes into it and changes topics/python_development.md.
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
    from mcp import types as mcp_types
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
TOOLS = {"search", "related", "read_note", "recent", "status", "brief"}
# Offered only by a server started with --allow-write.
WRITE_TOOLS = {"remember", "reinforce"}
# The contract's input fields of each tool (the schemas may have more).
TOOL_FIELDS = {
    "search": {"query", "limit", "mode", "since", "before", "recent"},
    "related": {"note", "text", "limit", "unlinked"},
    "read_note": {"note", "section"},
    "recent": {"limit", "tag", "path"},
    "status": set(),
    "brief": {"topic", "budget"},
    "remember": {"title", "body", "tags", "links", "strength", "folder", "force", "dry_run"},
    "reinforce": {"note", "strength"},
}
TOOL_REQUIRED = {"search": {"query"}, "read_note": {"note"}, "remember": {"title", "body"}, "reinforce": {"note"}}
SEARCH_QUERY = "levain hydration"
SEARCH_EXPECTED = "topics/sourdough_baking"
NOTE = "topics/sourdough_baking"
# The note that resources/read and reinforce are checked on.
RESOURCE_NOTE = "topics/python_development"
URI_PREFIX = "recall://notes/"
BRIEF_BUDGET = 300


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


async def run_session(ck: Checks, session: ClientSession, vault: Vault, mode: str, write: bool = False) -> None:
    async with ck.step("initialize"):
        init = await session.initialize()
        info = field(init, "server_info", "serverInfo")
        ck.ok(bool(info and info.name), "the server should name itself in serverInfo", info)
        caps = init.capabilities
        ck.ok(caps is not None and caps.tools is not None, "the server should declare the tools capability", caps)
        ck.ok(caps is not None and caps.resources is not None, "the server should declare the resources capability", caps)
        ck.ok(caps is not None and caps.prompts is not None, "the server should declare the prompts capability", caps)
        print(f"     server {info.name if info else '?'} {getattr(info, 'version', '')}, "
              f"protocol {field(init, 'protocol_version', 'protocolVersion')}", flush=True)

    async with ck.step("tools/list"):
        listed = await session.list_tools()
        tools = {t.name: t for t in listed.tools}
        expected = TOOLS | WRITE_TOOLS if write else TOOLS
        ck.ok(set(tools) == expected, f"the tools should be exactly {sorted(expected)}", sorted(tools))
        if not write:
            ck.ok(not WRITE_TOOLS & set(tools),
                  f"without --allow-write, {sorted(WRITE_TOOLS)} should not be listed", sorted(tools))
        for name in sorted(expected & set(tools)):
            tool = tools[name]
            notes = field(tool, "annotations") or None
            read_only = field(notes, "read_only_hint", "readOnlyHint") if notes else None
            destructive = field(notes, "destructive_hint", "destructiveHint") if notes else None
            if name in WRITE_TOOLS:
                ck.ok(read_only is False, f"tool {name}: annotations should say readOnlyHint false", notes)
                ck.ok(destructive is False, f"tool {name}: annotations should say destructiveHint false", notes)
            else:
                ck.ok(read_only is True, f"tool {name}: annotations should say readOnlyHint true", notes)
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

    if not write:
        await check_no_write_tools(ck, session)
    await check_resources(ck, session, vault)
    await check_brief_and_prompt(ck, session)
    if write:
        await check_writes(ck, session, vault, mode)


def error_code(e: BaseException) -> Any:
    return getattr(getattr(e, "error", None), "code", None)


async def expect_protocol_error(ck: Checks, what: str, call: Any, must_mention: list[str] = ()) -> None:
    """`call` (an awaitable) should fail with a JSON-RPC error that mentions each of `must_mention`;
    a lost connection (the SDK's -32000 "Connection closed") is not such an answer."""
    try:
        result = await call
    except _ProtocolError as e:
        code = error_code(e)
        ck.ok(code is not None and code != -32000, f"{what} should be a JSON-RPC error, not the end of the session",
              f"{code}: {e}")
        for word in must_mention:
            ck.ok(word.lower() in str(e).lower(), f"the error message should mention {word!r}", f"{code}: {e}")
    else:
        ck.ok(False, f"{what} should be a JSON-RPC error", result)


async def list_page(session: ClientSession, method: str, cursor: str | None) -> Any:
    """One page of resources/list (or another paginated list), at `cursor` when given."""
    fn = getattr(session, method)
    if cursor is None:
        return await fn()
    try:
        return await fn(params=mcp_types.PaginatedRequestParams(cursor=cursor))
    except (TypeError, AttributeError):  # mcp 1.x before `params`
        return await fn(cursor)


def file_text(vault: Vault, note_id: str) -> str:
    """A note's file exactly as stored (no newline translation)."""
    return (vault.root / f"{note_id}.md").read_bytes().decode("utf-8")


def difference(got: str, want: str) -> str:
    """Where two texts first differ, for a failure message."""
    n = next((i for i, (a, b) in enumerate(zip(got, want)) if a != b), min(len(got), len(want)))
    lo = max(0, n - 30)
    return (f"{len(got)} characters, the file {len(want)}; first difference at character {n}: "
            f"got {got[lo:n + 30]!r}, the file {want[lo:n + 30]!r}")


def close_to(value: Any, want: float) -> bool:
    return isinstance(value, (int, float)) and abs(value - want) < 1e-6


async def check_no_write_tools(ck: Checks, session: ClientSession) -> None:
    """Without --allow-write the write tools are unknown. The arguments write nothing whatever
    the server does (a dry run; a note that does not exist), so the example vault stays as it is."""
    for name, args in (
        ("remember", {"title": "mcp_client probe", "body": "Never written: a dry run.", "dry_run": True}),
        ("reinforce", {"note": "topics/no_such_note_mcp_client"}),
    ):
        async with ck.step(f"{name} without --allow-write (unknown tool)"):
            try:
                r = await session.call_tool(name, args)
            except _ProtocolError as e:
                code = error_code(e)
                ck.ok(code is not None and code != -32000, "an unknown tool should not end the session", f"{code}: {e}")
            else:
                message = " ".join(text_blocks(r))
                ck.ok(field(r, "is_error", "isError") is True and "tool" in message.lower(),
                      f"{name} should be an unknown tool without --allow-write", message or r)


async def check_resources(ck: Checks, session: ClientSession, vault: Vault) -> None:
    template = f"{URI_PREFIX}{{id}}"
    async with ck.step("resources/templates/list"):
        listed = await session.list_resource_templates()
        templates = field(listed, "resource_templates", "resourceTemplates") or []
        found = [t for t in templates if field(t, "uri_template", "uriTemplate") == template]
        ck.ok(len(found) == 1, f"the templates should include {template}",
              [field(t, "uri_template", "uriTemplate") for t in templates])
        for t in found:
            ck.ok(bool(t.name), "the template should have a name", t)
            ck.ok(field(t, "mime_type", "mimeType") == "text/markdown", "the template's mimeType should be text/markdown", t)

    async with ck.step("resources/list"):
        page = await list_page(session, "list_resources", None)
        uris = [str(r.uri) for r in page.resources]
        want = [URI_PREFIX + n for n in vault.recent_order()]
        ck.ok(sorted(uris) == sorted(URI_PREFIX + n for n in vault.ids),
              f"every note of the vault should be listed once as {URI_PREFIX}<id>", uris)
        ck.ok(uris == want, "the notes should be listed most recently updated first", uris)
        ck.ok(field(page, "next_cursor", "nextCursor") is None,
              f"{len(vault.ids)} notes fit one page of 100: there should be no nextCursor", field(page, "next_cursor", "nextCursor"))
        ck.ok(all(field(r, "mime_type", "mimeType") == "text/markdown" for r in page.resources),
              "every resource should have mimeType text/markdown", page.resources[:2])
        ck.ok(all(r.name for r in page.resources), "every resource should have a name", page.resources[:2])

    async with ck.step("resources/list cursor='not-a-cursor' (refused)"):
        await expect_protocol_error(ck, "a bad cursor", list_page(session, "list_resources", "not-a-cursor"))

    uri = URI_PREFIX + RESOURCE_NOTE
    async with ck.step(f"resources/read {uri}"):
        r = await session.read_resource(uri)
        contents = list(r.contents or [])
        if ck.ok(len(contents) == 1, "there should be one content item", contents):
            c = contents[0]
            ck.ok(str(c.uri) == uri, f"its uri should be {uri}", c.uri)
            ck.ok(field(c, "mime_type", "mimeType") == "text/markdown", "its mimeType should be text/markdown", c)
            text = getattr(c, "text", None)
            want = file_text(vault, RESOURCE_NOTE)
            if ck.ok(isinstance(text, str), "it should be text", c):
                ck.ok(text == want, f"the text should be {RESOURCE_NOTE}.md byte for byte", difference(text, want))

    for bad, mention in (
        (URI_PREFIX + "topics/nope", ["topics/nope"]),
        ("file:///etc/passwd", []),
        (URI_PREFIX + "../../etc/passwd", []),
    ):
        async with ck.step(f"resources/read {bad} (refused)"):
            await expect_protocol_error(ck, f"reading {bad}", session.read_resource(bad), mention)


async def check_brief_and_prompt(ck: Checks, session: ClientSession) -> None:
    async with ck.step("prompts/list"):
        listed = await session.list_prompts()
        prompts = {p.name: p for p in listed.prompts}
        if ck.ok("briefing" in prompts, "the prompts should include `briefing`", sorted(prompts)):
            p = prompts["briefing"]
            ck.ok(bool((p.description or "").strip()), "the briefing prompt should have a description", p)
            args = {a.name: a for a in p.arguments or []}
            ck.ok(set(args) == {"topic", "budget"}, "briefing's arguments should be topic and budget", sorted(args))
            ck.ok(not any(a.required for a in args.values()), "briefing's arguments should be optional", p.arguments)

    briefing = None
    budget = BRIEF_BUDGET
    async with ck.step(f"brief budget={budget}"):
        s = check_success(ck, await session.call_tool("brief", {"budget": budget}))
        tokens, md = s.get("tokens"), s.get("markdown")
        ck.ok(s.get("budget") == budget, f"budget should be {budget}", s.get("budget"))
        ck.ok(isinstance(tokens, int) and 0 < tokens <= budget, f"tokens should be at most {budget}", tokens)
        ck.ok(bool(s.get("items")), "the briefing should hold memories", s)
        if ck.ok(isinstance(md, str) and md.strip(), "structuredContent should have the `markdown`", s):
            briefing = md
            # The stated estimate: a quarter of the characters for alphabetic scripts (no CJK here).
            if not any(ord(c) >= 0x2E80 for c in md):
                ck.ok(-(-len(md) // 4) <= budget, f"{len(md)} characters should be at most 4 x {budget}", len(md))

    async with ck.step(f"prompts/get briefing budget={str(budget)!r}"):
        r = await session.get_prompt("briefing", {"budget": str(budget)})
        messages = list(r.messages or [])
        if ck.ok(len(messages) == 1, "there should be one message", messages):
            m = messages[0]
            ck.ok(str(getattr(m.role, "value", m.role)) == "user", "the message should be the user's", m.role)
            text = getattr(m.content, "text", None)
            if ck.ok(isinstance(text, str), "the message should be text", m.content) and briefing:
                ck.ok(briefing in text, f"the message should hold the `brief` tool's markdown for budget {budget}",
                      text)

    topic = "sourdough levain"
    async with ck.step(f"brief topic={topic!r}"):
        s = check_success(ck, await session.call_tool("brief", {"topic": topic}))
        first = ((s.get("items") or [{}])[0] or {}).get("note")
        ck.ok(first == SEARCH_EXPECTED, f"the first memory should be {SEARCH_EXPECTED}", s.get("items"))
        ck.ok(s.get("topic") == topic, f"topic should be {topic!r}", s.get("topic"))

    async with ck.step(f"prompts/get briefing topic={topic!r}"):
        r = await session.get_prompt("briefing", {"topic": topic})
        text = " ".join(getattr(m.content, "text", "") or "" for m in r.messages or [])
        ck.ok(SEARCH_EXPECTED in text, f"the briefing should name {SEARCH_EXPECTED}", text)

    async with ck.step("brief budget=10 (refused)"):
        check_tool_error(ck, await session.call_tool("brief", {"budget": 10}), ["bad budget `10`"])
    async with ck.step("prompts/get briefing budget='lots' (refused)"):
        await expect_protocol_error(ck, "a bad budget", session.get_prompt("briefing", {"budget": "lots"}), ["bad budget"])
    async with ck.step("prompts/get nope (refused)"):
        await expect_protocol_error(ck, "an unknown prompt", session.get_prompt("nope", {}), ["nope"])


# The memory the write checks remember, and where it lands.
MEMORY = {
    "title": "Router firmware",
    "body": "The router runs OpenWrt 23.05; update its firmware monthly.\n\nIts admin page is on the VLAN 10 address.",
    "tags": ["homelab"],
    "links": ["topics/home_networking"],
}
MEMORY_NOTE = "memories/router_firmware"
MEMORY_QUERY = "openwrt router firmware"
FOOTER_LINE = re.compile(rb"^\*(Last updated|Strength): [^*\r\n]*\*\r?\n?$")


async def check_writes(ck: Checks, session: ClientSession, vault: Vault, mode: str) -> None:
    """The write tools, on the private copy of the vault (see the module docstring)."""
    root = vault.root
    safe = False
    async with ck.step("status names the vault copy (before any write)"):
        s = check_success(ck, await session.call_tool("status", {}))
        served = s.get("vault")
        safe = ck.ok(bool(served) and Path(served).resolve() == root.resolve(),
                     f"the server should serve --vault {root} (else no write is tried)", served)
        if s.get("watched"):
            print("     note: the server watches the vault; the edited-note check races its re-index "
                  "(start it with --no-watch)", flush=True)
    if not safe:
        return

    memory_path = root / f"{MEMORY_NOTE}.md"
    written = b""
    async with ck.step("remember {title, body, tags, links}; search finds it within 1 s"):
        ck.ok(not memory_path.exists(), f"{MEMORY_NOTE}.md should not exist yet", str(memory_path))
        started = time.monotonic()
        s = check_success(ck, await session.call_tool("remember", MEMORY))
        found = await session.call_tool("search", {"query": MEMORY_QUERY, "mode": mode, "limit": 3})
        elapsed = time.monotonic() - started
        ck.ok(s.get("written") is True, "written should be true", s)
        ck.ok(s.get("indexed") is True, "indexed should be true", s)
        ck.ok(s.get("note") == MEMORY_NOTE, f"note should be {MEMORY_NOTE}", s.get("note"))
        ck.ok(s.get("path") == f"{MEMORY_NOTE}.md", f"path should be {MEMORY_NOTE}.md", s.get("path"))
        hits = [x.get("note") for x in results_of(ck, check_success(ck, found))]
        ck.ok(hits[:1] == [MEMORY_NOTE], f"search {MEMORY_QUERY!r} should find {MEMORY_NOTE} first", hits)
        ck.ok(elapsed < 1.0, "the note should be found within 1 s of the remember call starting", f"{elapsed:.3f} s")
        if ck.ok(memory_path.is_file(), "the note's file should exist in the vault copy", str(memory_path)):
            written = memory_path.read_bytes()
            text = written.decode("utf-8")
            ck.ok(text.startswith(f"# {MEMORY['title']}\n"), "the file should start with its title as H1", text)
            for part in ("OpenWrt 23.05", "## Tags\n`homelab`", "- [[topics/home_networking]]", "*Strength: 0.5*\n"):
                ck.ok(part in text, f"the file should hold {part!r}", text)

    async with ck.step("remember the same title again (a near-duplicate: not written)"):
        s = check_success(ck, await session.call_tool("remember", MEMORY))
        ck.ok(s.get("written") is False, "written should be false", s)
        dups = [d for d in s.get("duplicates") or [] if isinstance(d, dict)]
        ck.ok(bool(dups) and dups[0].get("why") == "same title" and dups[0].get("note") == MEMORY_NOTE,
              f"duplicates[0] should be {MEMORY_NOTE} with why 'same title'", dups)
        ck.ok(memory_path.read_bytes() == written, "the file should be untouched")

    async with ck.step("remember the same title with force=true (refused)"):
        r = await session.call_tool("remember", {**MEMORY, "body": "Something else entirely.", "force": True})
        check_tool_error(ck, r, ["already exists"])
        ck.ok(memory_path.read_bytes() == written, "the file should be untouched")

    async with ck.step("remember title=' ' (refused)"):
        check_tool_error(ck, await session.call_tool("remember", {"title": " ", "body": "x"}), ["the title is empty"])

    target = root / f"{RESOURCE_NOTE}.md"
    days = {time.strftime("%Y-%m-%d")}
    async with ck.step(f"reinforce {RESOURCE_NOTE} strength=0.9: only the footer lines change"):
        before = target.read_bytes()
        old_strength = re.search(rb"^\*Strength: ([0-9.]+)\*", before, re.M)
        s = check_success(ck, await session.call_tool("reinforce", {"note": RESOURCE_NOTE, "strength": 0.9}))
        days.add(time.strftime("%Y-%m-%d"))
        after = target.read_bytes()
        ck.ok(s.get("note") == RESOURCE_NOTE, f"note should be {RESOURCE_NOTE}", s)
        ck.ok(str(s.get("updated")) in days, "updated should be today", s.get("updated"))
        ck.ok(s.get("previous_updated") == vault.updated.get(RESOURCE_NOTE),
              f"previous_updated should be {vault.updated.get(RESOURCE_NOTE)}", s.get("previous_updated"))
        ck.ok(close_to(s.get("strength"), 0.9), "strength should be 0.9", s.get("strength"))
        if old_strength:
            ck.ok(close_to(s.get("previous_strength"), float(old_strength.group(1))),
                  f"previous_strength should be {old_strength.group(1).decode()}", s.get("previous_strength"))
        ck.ok(s.get("indexed") is True, "indexed should be true", s)
        old, new = before.splitlines(keepends=True), after.splitlines(keepends=True)
        ck.ok(len(old) == len(new), f"the file should keep its {len(old)} lines", len(new))
        changed = [(i + 1, o, n) for i, (o, n) in enumerate(zip(old, new)) if o != n]
        ck.ok(bool(changed) and all(FOOTER_LINE.match(o) and FOOTER_LINE.match(n) for _, o, n in changed),
              "only the `*Last updated: ...*` and `*Strength: ...*` lines should change", changed)
        day = str(s.get("updated")).encode()
        ck.ok(re.search(rb"^\*Last updated: " + re.escape(day) + rb"\*$", after, re.M) is not None,
              f"the file should say *Last updated: {day.decode()}*", changed)
        ck.ok(re.search(rb"^\*Strength: 0\.9\*$", after, re.M) is not None, "the file should say *Strength: 0.9*", changed)

    async with ck.step(f"read_note {RESOURCE_NOTE} after the reinforce"):
        s = check_success(ck, await session.call_tool("read_note", {"note": RESOURCE_NOTE}))
        ck.ok(close_to(s.get("strength"), 0.9), "the index should hold the new strength", s.get("strength"))
        ck.ok(str(s.get("updated")) in days, "the index should hold the new date", s.get("updated"))

    async with ck.step(f"reinforce {RESOURCE_NOTE} after an edit on disk (refused)"):
        edited = target.read_bytes() + b"\nA line the user added by hand.\n"
        target.write_bytes(edited)
        r = await session.call_tool("reinforce", {"note": RESOURCE_NOTE})
        check_tool_error(ck, r, ["changed since it was indexed"])
        ck.ok(target.read_bytes() == edited, "the file should keep the edit, unchanged", target.read_bytes()[-200:])

    async with ck.step("reinforce topics/nope (refused)"):
        check_tool_error(ck, await session.call_tool("reinforce", {"note": "topics/nope"}), ["topics/nope"])

    # Enough notes for two pages of resources (100 a page).
    async with ck.step("remember until the vault holds 101 notes", 4 * ck.timeout):
        for i in range(len(Vault(root).ids), 101):
            r = await session.call_tool("remember", {
                "title": f"Filler memory {i}", "body": f"Filler memory number {i}: the quokka-{i} widget.", "force": True})
            s = field(r, "structured_content", "structuredContent") or {}
            if not ck.ok(s.get("written") is True, f"Filler memory {i} should be written", text_blocks(r) or s):
                break

    async with ck.step("resources/list, two pages"):
        now = Vault(root)
        first = await list_page(session, "list_resources", None)
        cursor = field(first, "next_cursor", "nextCursor")
        uris = [str(x.uri) for x in first.resources]
        ck.ok(len(uris) == 100, "the first page should hold 100 notes", len(uris))
        if ck.ok(isinstance(cursor, str) and cursor != "", "the first page should have a nextCursor", cursor):
            second = await list_page(session, "list_resources", cursor)
            more = [str(x.uri) for x in second.resources]
            ck.ok(field(second, "next_cursor", "nextCursor") is None, "the last page should have no nextCursor",
                  field(second, "next_cursor", "nextCursor"))
            uris += more
            oldest = URI_PREFIX + vault.recent_order()[-1]
            ck.ok(more[-1:] == [oldest], f"the last note listed should be the oldest, {oldest}", more)
        ck.ok(len(uris) == len(set(uris)), "no note should be listed twice",
              sorted(u for u in set(uris) if uris.count(u) > 1))
        want = {URI_PREFIX + n for n in now.ids}
        ck.ok(set(uris) == want, f"every one of the {len(want)} notes should be listed",
              {"missing": sorted(want - set(uris)), "extra": sorted(set(uris) - want)})

    async with ck.step("status counts every note"):
        s = check_success(ck, await session.call_tool("status", {}))
        n = len(Vault(root).ids)
        ck.ok(s.get("notes") == n, f"notes should be {n}", s.get("notes"))


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


def stdio_args(index: str, write: bool) -> list[str]:
    """The arguments of the stdio server: `--index INDEX mcp`, and in write mode `--allow-write
    --no-watch` (no watcher may re-index the note the edited-note check changes)."""
    return ["--index", index, "mcp", *(["--allow-write", "--no-watch"] if write else [])]


async def raw_stdio(ck: Checks, bin_path: str, args: list[str], env: dict[str, str]) -> None:
    async with ck.step("raw stdio: camelCase keys, only JSON on stdout, exit on EOF", 2 * ck.full_timeout + 15):
        await anyio.to_thread.run_sync(_raw_stdio, ck, bin_path, args, env, ck.full_timeout)


def _raw_stdio(ck: Checks, bin_path: str, args: list[str], env: dict[str, str], timeout: float) -> None:
    proc = subprocess.Popen([bin_path, *args], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
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


async def raw_http(ck: Checks, url: str, token: str | None, vault: Path | None = None) -> None:
    async with ck.step("raw http: camelCase keys, Host guard, token", 8 * ck.full_timeout):
        await anyio.to_thread.run_sync(_raw_http, ck, url, token, ck.full_timeout, vault)


def _raw_http(ck: Checks, url: str, token: str | None, timeout: float, vault: Path | None) -> None:
    """`vault`: in write mode, the vault copy, where a remember through a foreign Host must not land."""
    auth = {"Authorization": f"Bearer {token}"} if token else {}
    status, _, body = _post(url, INIT, {**auth, "Host": "evil.example"}, timeout)
    ck.ok(status == 403, "a request with a foreign Host header should get 403", (status, body))
    if vault is not None:  # what a DNS-rebinding page would try on a server that may write
        call = {"jsonrpc": "2.0", "id": 9, "method": "tools/call",
                "params": {"name": "remember", "arguments": {"title": "Rebound write", "body": "x", "force": True}}}
        status, _, body = _post(url, call, {**auth, "Host": "evil.example"}, timeout)
        ck.ok(status == 403, "a remember call with a foreign Host header should get 403", (status, body))
        ck.ok(not list(vault.rglob("rebound_write.md")), "a remember call with a foreign Host should write nothing")
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
    label = ("http" if args.http else "stdio") + (" write" if args.allow_write else "")
    ck = Checks(label, args.timeout)
    async with AsyncExitStack() as stack:
        if args.http:
            headers = {"Authorization": f"Bearer {args.token}"} if args.token else None
            client = await stack.enter_async_context(create_mcp_http_client(headers=headers))
            streams = await stack.enter_async_context(streamable_http_client(args.http, http_client=client))
            print(f"mcp_client: connecting to {args.http}", flush=True)
        else:
            env = dict(os.environ)
            server_args = stdio_args(args.index, args.allow_write)
            params = StdioServerParameters(command=args.bin, args=server_args, env=env)
            streams = await stack.enter_async_context(stdio_client(params))
            print(f"mcp_client: launched {args.bin} {' '.join(server_args)}", flush=True)
        session = await stack.enter_async_context(ClientSession(streams[0], streams[1]))
        await run_session(ck, session, vault, args.mode, args.allow_write)
    if args.http:
        await raw_http(ck, args.http, args.token, vault.root if args.allow_write else None)
    else:
        await raw_stdio(ck, args.bin, stdio_args(args.index, args.allow_write), dict(os.environ))
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
    p.add_argument("--allow-write", action="store_true",
                   help="the write-mode session (remember, reinforce) against a server with --allow-write; "
                   "--vault must be a private copy of the example vault, which it changes")
    args = p.parse_args(argv)
    if not Path(args.vault, "topics", "sourdough_baking.md").is_file():
        p.error(f"--vault {args.vault} is not the bundled example vault (no topics/sourdough_baking.md)")
    if args.allow_write and Path(args.vault).resolve() == (REPO / "examples" / "vault").resolve():
        p.error("--allow-write writes into --vault: give a private copy of examples/vault (cp -r examples/vault "
                "/tmp/v; recall --index /tmp/iw index /tmp/v --no-embed), never examples/vault itself")
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
