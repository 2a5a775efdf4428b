//! `remember`, `reinforce`, `brief`: an agent's memory loop from the command line. The two
//! writes are always allowed here (the user asked for them by name); servers allow them
//! only with `--allow-write`.

use std::io::{IsTerminal, Read, Write};

use clap::Args;

use super::print_json;
use super::term::safe;
use crate::api::{BriefRequest, ReinforceRequest, RememberRequest};
use crate::engine::Engine;
use crate::error::Error;
use crate::write::MAX_BODY_BYTES;

#[derive(Args, Debug)]
pub struct RememberArgs {
    /// The memory's title (its `# heading` and file name).
    #[arg(long)]
    pub title: String,
    /// A tag (repeat for more).
    #[arg(long = "tag")]
    pub tags: Vec<String>,
    /// A note this memory relates to, by id (repeat for more).
    #[arg(long = "link")]
    pub links: Vec<String>,
    /// How established the memory is, 0..1 (default 0.5).
    #[arg(long)]
    pub strength: Option<f32>,
    /// Folder inside the vault (default memories).
    #[arg(long)]
    pub folder: Option<String>,
    /// Write even when near-duplicates exist.
    #[arg(long)]
    pub force: bool,
    /// Only check: show near-duplicates and the closest notes, write nothing.
    #[arg(long)]
    pub dry_run: bool,
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct ReinforceArgs {
    /// Note id (path in the vault without .md).
    pub note: String,
    /// A new strength, 0..1 (default: unchanged).
    #[arg(long)]
    pub strength: Option<f32>,
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct BriefArgs {
    /// What the session is about (a query); without it, the strongest and freshest memories.
    pub topic: Option<String>,
    /// Most tokens the briefing may take (estimated: a quarter of the characters, one per
    /// Chinese, Japanese or Korean character), from 100 to 100000; default 1500.
    #[arg(long, value_parser = crate::api::parse_budget)]
    pub budget: Option<usize>,
    #[arg(long)]
    pub json: bool,
}

/// The body of a new memory, from stdin.
fn read_body() -> anyhow::Result<String> {
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        return Err(Error::Usage(
            "give the memory's text on stdin: `echo 'what I learned' | recall remember --title ...`".into(),
        )
        .into());
    }
    let mut bytes = Vec::new();
    stdin
        .lock()
        .take(MAX_BODY_BYTES as u64 + 1)
        .read_to_end(&mut bytes)?;
    String::from_utf8(bytes).map_err(|_| Error::Usage("the text on stdin is not UTF-8".into()).into())
}

pub(super) fn remember(engine: &Engine, args: &RememberArgs) -> anyhow::Result<()> {
    let r = engine.remember(&RememberRequest {
        title: args.title.clone(),
        body: read_body()?,
        tags: args.tags.clone(),
        links: args.links.clone(),
        strength: args.strength,
        folder: args.folder.clone(),
        force: args.force,
        dry_run: args.dry_run,
    })?;
    if args.json {
        return print_json(&r);
    }
    let mut out = std::io::stdout().lock();
    let list = |out: &mut std::io::StdoutLock, notes: &[crate::api::Similar]| -> std::io::Result<()> {
        for d in notes {
            let why = d.why.as_deref().map(|w| format!("{w}; ")).unwrap_or_default();
            writeln!(
                out,
                "  {} — {} ({why}meaning {:.2}, words {:.2})",
                safe(&d.note),
                safe(&d.title),
                d.meaning,
                d.words
            )?;
        }
        Ok(())
    };
    if r.written {
        writeln!(out, "remembered {} ({})", safe(&r.note), safe(&r.path))?;
    } else if !r.duplicates.is_empty() {
        writeln!(
            out,
            "not written: the vault already holds this memory, or nearly:"
        )?;
        list(&mut out, &r.duplicates)?;
        writeln!(out, "reinforce one of them, or add --force to write it anyway")?;
    } else {
        writeln!(
            out,
            "would write {} ({}); no near-duplicate; closest notes:",
            safe(&r.note),
            safe(&r.path)
        )?;
        list(&mut out, &r.closest)?;
    }
    for w in &r.warnings {
        super::term::warn(w);
    }
    Ok(())
}

pub(super) fn reinforce(engine: &Engine, args: &ReinforceArgs) -> anyhow::Result<()> {
    let r = engine.reinforce(&ReinforceRequest {
        note: args.note.clone(),
        strength: args.strength,
    })?;
    if args.json {
        return print_json(&r);
    }
    let or_none = |v: Option<String>| v.unwrap_or_else(|| "none".into());
    writeln!(
        std::io::stdout().lock(),
        "reinforced {}: last updated {} -> {}, strength {} -> {}",
        safe(&r.note),
        or_none(r.previous_updated.map(|d| d.to_string())),
        r.updated,
        or_none(r.previous_strength.map(|s| s.to_string())),
        or_none(r.strength.map(|s| s.to_string())),
    )?;
    for w in &r.warnings {
        super::term::warn(w);
    }
    Ok(())
}

pub(super) fn brief(engine: &Engine, args: &BriefArgs) -> anyhow::Result<()> {
    let b = engine.brief(&BriefRequest {
        topic: args.topic.clone(),
        budget: args.budget,
    })?;
    if args.json {
        return print_json(&b);
    }
    write!(std::io::stdout().lock(), "{}", safe(&b.markdown))?;
    Ok(())
}
