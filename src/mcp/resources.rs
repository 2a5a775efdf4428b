//! MCP resources and prompts: every note is the resource `recall://notes/{id}` (listed
//! most recent first, a page at a time; read as its markdown), and the prompt `briefing`
//! hands a client the memories to start a session with. Both answer through the one
//! request path, like the tools.

use rmcp::model::{
    GetPromptRequestParams, GetPromptResult, ListPromptsResult, ListResourceTemplatesResult,
    ListResourcesResult, Prompt, PromptArgument, PromptMessage, ReadResourceResult, Resource,
    ResourceContents, ResourceTemplate, Role,
};
use rmcp::ErrorData as McpError;

use crate::api::{parse_budget, BriefRequest, NoteRequest, RecentRequest, MAX_LIMIT};
use crate::calls::{CallError, Calls};
use crate::error::ErrorKind;

/// The scheme and prefix of a note's resource URI.
const PREFIX: &str = "recall://notes/";

/// A call's failure as an MCP error: what the caller can fix is `invalid_params` or
/// `resource_not_found`, the rest internal.
fn mcp_error(e: CallError) -> McpError {
    match &e {
        CallError::Engine(err) if err.kind() == ErrorKind::NotFound => {
            McpError::resource_not_found(e.to_string(), None)
        }
        CallError::Engine(err) if err.kind() != ErrorKind::Internal => {
            McpError::invalid_params(e.to_string(), None)
        }
        _ => McpError::internal_error(e.to_string(), None),
    }
}

/// The most recently updated notes, a page of [`MAX_LIMIT`] at a time (the cursor is the
/// offset of the next page).
pub async fn list(calls: &Calls, cursor: Option<String>) -> Result<ListResourcesResult, McpError> {
    let offset = match cursor {
        Some(c) => c
            .parse::<usize>()
            .map_err(|_| McpError::invalid_params(format!("bad cursor `{c}`"), None))?,
        None => 0,
    };
    let req = RecentRequest {
        limit: Some(MAX_LIMIT),
        offset: Some(offset),
        ..RecentRequest::default()
    };
    let page = calls.run(move |e| e.recent(&req)).await.map_err(mcp_error)?;
    let resources = page
        .results
        .iter()
        .map(|h| {
            let mut r = Resource::new(uri(&h.note), h.note.clone())
                .with_title(h.title.clone())
                .with_mime_type("text/markdown");
            if let Some(d) = h.updated {
                r = r.with_description(format!("updated {d}"));
            }
            r
        })
        .collect();
    let mut result = ListResourcesResult::with_all_items(resources);
    result.next_cursor = page.next_offset.map(|n| n.to_string());
    Ok(result)
}

pub fn templates() -> ListResourceTemplatesResult {
    ListResourceTemplatesResult::with_all_items(vec![ResourceTemplate::new(
        format!("{PREFIX}{{id}}"),
        "note",
    )
    .with_title("A note of the vault")
    .with_description(
        "A note's markdown; id = its path in the vault without `.md` (topics/python_development)",
    )
    .with_mime_type("text/markdown")])
}

/// A note's markdown (cut at the servers' size limit, with a marker line).
pub async fn read(calls: &Calls, uri_asked: String) -> Result<ReadResourceResult, McpError> {
    let Some(id) = uri_asked.strip_prefix(PREFIX).map(percent_decode) else {
        return Err(McpError::invalid_params(
            format!("unknown resource `{uri_asked}`: notes are {PREFIX}ID"),
            None,
        ));
    };
    let req = NoteRequest {
        note: id,
        ..NoteRequest::default()
    };
    let note = calls.run(move |e| e.note(&req)).await.map_err(mcp_error)?;
    let text = note.markdown.unwrap_or_default();
    Ok(ReadResourceResult::new(vec![ResourceContents::text(
        text, uri_asked,
    )
    .with_mime_type("text/markdown")]))
}

pub fn prompts() -> ListPromptsResult {
    ListPromptsResult::with_all_items(vec![Prompt::new(
        "briefing",
        Some(
            "The memories to start a session with: the strongest and most recent, or those about a topic, \
             packed into a token budget",
        ),
        Some(vec![
            PromptArgument::new("topic")
                .with_description("What the session is about (optional)")
                .with_required(false),
            PromptArgument::new("budget")
                .with_description("Most tokens the briefing may take (default 1500)")
                .with_required(false),
        ]),
    )])
}

pub async fn get_prompt(calls: &Calls, params: GetPromptRequestParams) -> Result<GetPromptResult, McpError> {
    if params.name != "briefing" {
        return Err(McpError::invalid_params(
            format!("unknown prompt `{}`: the prompt is `briefing`", params.name),
            None,
        ));
    }
    let args = params.arguments.unwrap_or_default();
    let text = |k: &str| {
        args.get(k)
            .and_then(|v| v.as_str().map(str::to_string).or_else(|| Some(v.to_string())))
    };
    let budget = text("budget")
        .map(|b| parse_budget(&b))
        .transpose()
        .map_err(|e| McpError::invalid_params(e, None))?;
    let req = BriefRequest {
        topic: text("topic"),
        budget,
    };
    let brief = calls.run(move |e| e.brief(&req)).await.map_err(mcp_error)?;
    let message = format!(
        "Here is what my memory (recall) holds that matters for this session. Use recall's `search`, `related` \
         and `read_note` tools for more, and `remember` / `reinforce` (when offered) to keep it current.\n\n{}",
        brief.markdown
    );
    Ok(
        GetPromptResult::new(vec![PromptMessage::new_text(Role::User, message)])
            .with_description("Memories to start from"),
    )
}

fn uri(id: &str) -> String {
    format!("{PREFIX}{id}")
}

/// `%XX` escapes decoded (clients may escape spaces and non-ASCII in a URI); bad escapes
/// are kept as written.
fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match (
            bytes[i],
            bytes.get(i + 1).and_then(|b| hex(*b)),
            bytes.get(i + 2).and_then(|b| hex(*b)),
        ) {
            (b'%', Some(h), Some(l)) => {
                out.push((h * 16 + l) as u8);
                i += 3;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resource_uris_decode() {
        assert_eq!(
            percent_decode("topics/caf%C3%A9%20au%20lait"),
            "topics/café au lait"
        );
        assert_eq!(percent_decode("a%2"), "a%2");
        assert_eq!(percent_decode("people/alex_chen"), "people/alex_chen");
    }
}
