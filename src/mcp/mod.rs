//! The MCP face: recall's tools for AI agents, over stdio (`recall mcp`) or streamable
//! HTTP (`/mcp` of `recall serve`), built on the official Rust SDK (rmcp).
//!
//! Each tool is a thin adapter: its arguments are an API request type (whose schema rmcp
//! derives from the Rust type), the [`Engine`] answers through the one request path of
//! every server ([`Calls`]: a cap on calls at once, a time limit), and the
//! result carries the API response as structured content plus a compact text rendering
//! (`text`) a model reads easily. A failure the caller can fix (unknown note, malformed
//! query) is a tool result marked as an error with the command line's message, never a
//! crash of the server.

mod resources;
mod text;

use std::sync::Arc;

use rmcp::handler::server::router::tool::ToolRouter;
use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::{
    CallToolResult, ContentBlock, GetPromptRequestParams, GetPromptResponse, Implementation,
    ListPromptsResult, ListResourceTemplatesResult, ListResourcesResult, PaginatedRequestParams,
    ReadResourceRequestParams, ReadResourceResponse, ServerCapabilities, ServerConfig,
};
use rmcp::service::RequestContext;
use rmcp::{tool, tool_handler, tool_router, ErrorData as McpError, RoleServer, ServerHandler, ServiceExt};
use serde::Serialize;

use crate::api::{
    BriefRequest, NoteRequest, RecentRequest, ReinforceRequest, RelatedRequest, RememberRequest,
    SearchRequest,
};
use crate::calls::{CallError, Calls};
use crate::engine::Engine;
use crate::error::Result;

/// What the server tells a client about itself and how to use its tools.
const INSTRUCTIONS: &str = "recall searches a vault of markdown notes (memories). \
Use `search` to find notes about a topic (keywords and meaning), `related` to find the notes \
that belong with a note you already have (by meaning, wording, tags and links), `read_note` \
to read a note or one of its sections, `recent` for the latest memories, `status` to check \
that the index is fresh. Note ids are paths in the vault without `.md`. Each result's \
`strength` (0..1, when the note has one) says how established the memory is; results are \
ranked by relevance with strength as a tie-breaker. At the start of a session, call `brief` \
(or use the `briefing` prompt) for the memories to start from. Every note is also a resource, \
`recall://notes/{id}`.";

/// What the server adds to its instructions when it may write.
const WRITE_INSTRUCTIONS: &str = " When you learn something worth keeping, `remember` it (a new \
note; it tells you when the vault already holds it). When a memory proved right and useful, \
`reinforce` it.";

/// The tools that change the vault: offered only by a server started with `--allow-write`.
const WRITE_TOOLS: [&str; 2] = ["remember", "reinforce"];

/// The recall tools, over one engine.
#[derive(Clone)]
pub struct RecallMcp {
    calls: Arc<Calls>,
    allow_write: bool,
    tool_router: ToolRouter<Self>,
}

/// A tool call through the one request path. What the caller can act on (a refused
/// request, a timeout) is a tool result marked as an error; a bug is a protocol error.
async fn answer<T, F>(calls: &Calls, call: F, render: fn(&T) -> String) -> Result<CallToolResult, McpError>
where
    T: Serialize + Send + 'static,
    F: FnOnce(&Engine) -> Result<T> + Send + 'static,
{
    match calls.run(call).await {
        Ok(value) => {
            // Through the JSON text, as the other faces print it: `to_value` would widen each
            // f32 to f64 (a strength of 0.85 as 0.8500000238418579).
            let structured = serde_json::to_string(&value)
                .and_then(|text| serde_json::from_str::<serde_json::Value>(&text))
                .map_err(|e| McpError::internal_error(format!("cannot encode the result: {e}"), None))?;
            let mut result = CallToolResult::success(vec![ContentBlock::text(render(&value))]);
            result.structured_content = Some(structured);
            Ok(result)
        }
        Err(e @ (CallError::Engine(_) | CallError::Timeout(_))) => {
            Ok(CallToolResult::error(vec![ContentBlock::text(e.to_string())]))
        }
        Err(e @ CallError::Failed(_)) => Err(McpError::internal_error(e.to_string(), None)),
    }
}

#[tool_router]
impl RecallMcp {
    /// The server; without `allow_write` the write tools are neither listed nor callable.
    pub fn new(calls: Arc<Calls>, allow_write: bool) -> RecallMcp {
        let mut tool_router = Self::tool_router();
        if !allow_write {
            for tool in WRITE_TOOLS {
                tool_router.remove_route(tool);
            }
        }
        RecallMcp {
            calls,
            allow_write,
            tool_router,
        }
    }

    #[tool(
        description = "Search the notes for a topic: ranked notes with the best-matching section, a snippet \
(matches in **bold**), a relevance score, the memory's strength (0..1) and tags. Query syntax: plain words \
are ranked (`rust async`, one typo per word tolerated); \"quoted phrases\" are required in that order, \
`+word` is required, `-word` excludes, `prefix*` matches word starts; filters `tag:python`, `path:people/`, \
`strength:>0.7`, `updated:2025`, `established:>=2024-06`, `updated:7d` (dates: YYYY, YYYY-MM, YYYY-MM-DD, \
7d, 2w, 3m, 1y, today, yesterday), any front-matter key (`status:active`, `-status:superseded`, \
`type:\"design decision\"`), `tag:a OR tag:b`, `-tag:draft`. Required words, phrases, exclusions and \
filters hold in every mode. A query of filters alone lists every match, strongest first. Example: \
`\"borrow checker\" tag:rust -python`. Modes: hybrid (default, words and meaning), lexical (exact words), \
semantic (meaning). Use `recent` (a half-life like 30d) to favour fresh memories. To find notes that belong \
with a note you already have, use `related` instead.",
        annotations(read_only_hint = true, open_world_hint = false)
    )]
    async fn search(&self, Parameters(req): Parameters<SearchRequest>) -> Result<CallToolResult, McpError> {
        answer(&self.calls, move |e| e.search(&req), text::search).await
    }

    #[tool(
        description = "Notes related to a note (give `note`, its id) or to a piece of text (give `text`): \
the memories that belong with it, each with its reasons (links to it, linked from it, 2 hops via another \
note, shared tags, a similar section, shared distinctive words). `unlinked: true` keeps only notes not yet \
linked either way, to discover missing links. Use this rather than `search` when you start from a note.",
        annotations(read_only_hint = true, open_world_hint = false)
    )]
    async fn related(&self, Parameters(req): Parameters<RelatedRequest>) -> Result<CallToolResult, McpError> {
        answer(&self.calls, move |e| e.related(&req), text::related).await
    }

    #[tool(
        description = "Read a note: its markdown (or one section: a heading path such as \
`Python Development > Technical Stack`, a heading that is unique in the note, or a line range `12-40`), \
with its title, tags, strength, dates, sections and line ranges, resolved links and backlinks. Long notes \
are cut at 64 KiB with a marker line; then read them a section at a time.",
        annotations(read_only_hint = true, open_world_hint = false)
    )]
    async fn read_note(&self, Parameters(req): Parameters<NoteRequest>) -> Result<CallToolResult, McpError> {
        answer(&self.calls, move |e| e.note(&req), text::note).await
    }

    #[tool(
        description = "The most recently updated memories (their `Last updated` date, else established, \
else the file's date), strongest first on the same day; optionally only those with a tag or under a \
folder (`path: people/`).",
        annotations(read_only_hint = true, open_world_hint = false)
    )]
    async fn recent(&self, Parameters(req): Parameters<RecentRequest>) -> Result<CallToolResult, McpError> {
        answer(&self.calls, move |e| e.recent(&req), text::recent).await
    }

    #[tool(
        description = "The index: how many notes and sections, whether it is fresh (notes changed since it \
was built), the embedding model, the vault and index paths.",
        annotations(read_only_hint = true, open_world_hint = false)
    )]
    async fn status(&self) -> Result<CallToolResult, McpError> {
        answer(&self.calls, |e| e.status(), text::status).await
    }

    #[tool(
        description = "The memories to start a session with, as markdown within a token budget (default 1500): \
with no `topic`, the strongest and most recently updated; with one, the most relevant to it. Each is its \
title, id, strength, date and best excerpt; read more with `read_note`.",
        annotations(read_only_hint = true, open_world_hint = false)
    )]
    async fn brief(&self, Parameters(req): Parameters<BriefRequest>) -> Result<CallToolResult, McpError> {
        answer(&self.calls, move |e| e.brief(&req), text::brief).await
    }

    #[tool(
        description = "Write a NEW memory note: `title`, `body` (markdown), optional `tags`, `links` (ids of \
related notes), `strength` (0..1, default 0.5), `folder` (default memories). It is searchable at once. If the \
vault already holds the memory (the same title, or a note very close in meaning), nothing is written and the \
near-duplicates are returned: `reinforce` one of them instead, or call again with `force: true`. Never \
overwrites a note: a note with the same file name is an error.",
        annotations(
            read_only_hint = false,
            destructive_hint = false,
            idempotent_hint = false,
            open_world_hint = false
        )
    )]
    async fn remember(
        &self,
        Parameters(req): Parameters<RememberRequest>,
    ) -> Result<CallToolResult, McpError> {
        answer(&self.calls, move |e| e.remember(&req), text::remember).await
    }

    #[tool(
        description = "Mark a memory as confirmed and useful: its `Last updated` becomes today (fresh memories \
rank higher) and, with `strength`, its strength changes. Only those footer lines of the note change. Refused \
when the note was edited since recall indexed it (read it again first).",
        annotations(
            read_only_hint = false,
            destructive_hint = false,
            idempotent_hint = true,
            open_world_hint = false
        )
    )]
    async fn reinforce(
        &self,
        Parameters(req): Parameters<ReinforceRequest>,
    ) -> Result<CallToolResult, McpError> {
        answer(&self.calls, move |e| e.reinforce(&req), text::reinforce).await
    }
}

#[tool_handler(router = self.tool_router)]
impl ServerHandler for RecallMcp {
    fn get_info(&self) -> ServerConfig {
        let capabilities = ServerCapabilities::builder()
            .enable_tools()
            .enable_resources()
            .enable_prompts()
            .build();
        let instructions = match self.allow_write {
            true => format!("{INSTRUCTIONS}{WRITE_INSTRUCTIONS}"),
            false => INSTRUCTIONS.to_string(),
        };
        ServerConfig::new(capabilities)
            .with_server_info(Implementation::new("recall", env!("CARGO_PKG_VERSION")))
            .with_instructions(instructions)
    }

    async fn list_resources(
        &self,
        request: Option<PaginatedRequestParams>,
        _: RequestContext<RoleServer>,
    ) -> Result<ListResourcesResult, McpError> {
        resources::list(&self.calls, request.and_then(|r| r.cursor)).await
    }

    async fn list_resource_templates(
        &self,
        _: Option<PaginatedRequestParams>,
        _: RequestContext<RoleServer>,
    ) -> Result<ListResourceTemplatesResult, McpError> {
        Ok(resources::templates())
    }

    async fn read_resource(
        &self,
        request: ReadResourceRequestParams,
        _: RequestContext<RoleServer>,
    ) -> Result<ReadResourceResponse, McpError> {
        Ok(resources::read(&self.calls, request.uri).await?.into())
    }

    async fn list_prompts(
        &self,
        _: Option<PaginatedRequestParams>,
        _: RequestContext<RoleServer>,
    ) -> Result<ListPromptsResult, McpError> {
        Ok(resources::prompts())
    }

    async fn get_prompt(
        &self,
        request: GetPromptRequestParams,
        _: RequestContext<RoleServer>,
    ) -> Result<GetPromptResponse, McpError> {
        Ok(resources::get_prompt(&self.calls, request).await?.into())
    }
}

/// Serves over stdin/stdout until the client closes stdin. Nothing else may write to
/// stdout meanwhile.
pub async fn serve_stdio(calls: Arc<Calls>, allow_write: bool) -> anyhow::Result<()> {
    let running = match RecallMcp::new(calls, allow_write)
        .serve(rmcp::transport::stdio())
        .await
    {
        Ok(running) => running,
        // The client went away before initializing: nothing to serve.
        Err(rmcp::service::ServerInitializeError::ConnectionClosed(_)) => return Ok(()),
        Err(e) => return Err(e.into()),
    };
    running.waiting().await?;
    Ok(())
}
