//! Writing for people at a terminal: colour when asked for, and never a control
//! character from a note.
//!
//! Notes are untrusted text (agents write them, and files come from anywhere): a title or
//! a snippet holding `ESC ] 0 ; ... BEL` would retitle the user's terminal, `ESC [ 31 m`
//! recolour it, a carriage return overwrite a line. So every piece of text that comes
//! from a note, a file name or the user goes through [`safe`] before it is printed:
//! C0 controls but tab and newline, DEL, C1 controls and ESC are shown escaped (`\e]0;`).
//! The only escape sequences recall itself writes are its colours, through [`Paint`].
//! JSON output needs none of this: serde escapes every control character.

use std::borrow::Cow;
use std::io::{IsTerminal, Write};
use std::sync::OnceLock;

/// `--color`: when human output is coloured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum ColorChoice {
    /// When stdout is a terminal and `NO_COLOR` is unset or empty.
    #[default]
    Auto,
    Always,
    Never,
}

static COLOR: OnceLock<bool> = OnceLock::new();

/// Decides, once per process, whether stdout gets colours.
pub fn init_color(choice: ColorChoice) {
    let on = match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
        }
    };
    let _ = COLOR.set(on);
}

/// Text made safe for a terminal (see the module docs); borrowed when it already was.
pub fn safe(s: &str) -> Cow<'_, str> {
    if !s.chars().any(needs_escape) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '\x1b' => out.push_str("\\e"),
            '\r' => out.push_str("\\r"),
            c if needs_escape(c) => out.push_str(&format!("\\x{:02x}", c as u32)),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

fn needs_escape(c: char) -> bool {
    (c.is_control() && c != '\n' && c != '\t') || ('\u{80}'..='\u{9f}').contains(&c)
}

/// recall's own colours, around text that is made [`safe`] first.
#[derive(Debug, Clone, Copy)]
pub struct Paint {
    on: bool,
}

impl Paint {
    /// Colours as `--color` and the terminal decided.
    pub fn new() -> Paint {
        Paint {
            on: *COLOR.get_or_init(|| false),
        }
    }

    fn wrap(&self, code: &str, text: &str) -> String {
        match self.on {
            true => format!("\x1b[{code}m{}\x1b[0m", safe(text)),
            false => safe(text).into_owned(),
        }
    }

    pub fn bold(&self, text: &str) -> String {
        self.wrap("1", text)
    }

    pub fn dim(&self, text: &str) -> String {
        self.wrap("2", text)
    }

    /// A matched word in a snippet.
    pub fn hit(&self, text: &str) -> String {
        match self.on {
            true => self.wrap("1;33", text),
            false => format!("**{}**", safe(text)),
        }
    }
}

/// A warning on stderr, made safe; a closed stderr is not worth failing over.
pub fn warn(message: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "recall: warning: {}", safe(message));
}

/// A note on stderr (progress, refreshes), made safe.
pub fn note(message: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "recall: {}", safe(message));
}

/// The first line of a ranked note (search, related): rank, id, title, score and strength.
pub fn hit_heading(
    out: &mut impl Write,
    paint: &Paint,
    rank: usize,
    note: &str,
    title: &str,
    score: f32,
    strength: Option<f32>,
) -> std::io::Result<()> {
    let strength = strength.map(|s| format!("  strength {s:.2}")).unwrap_or_default();
    writeln!(
        out,
        "{rank:>2}. {}  {}  {}",
        paint.bold(note),
        safe(title),
        paint.dim(&format!("score {score:.3}{strength}"))
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_shown_escaped() {
        assert_eq!(safe("plain: tab\tand\nnewline"), "plain: tab\tand\nnewline");
        assert_eq!(safe("\x1b]0;owned\x07title"), "\\e]0;owned\\x07title");
        assert_eq!(safe("\x1b[31mred"), "\\e[31mred");
        assert_eq!(safe("a\rb\x7fc\u{9b}d"), "a\\rb\\x7fc\\x9bd");
        assert_eq!(safe("café 東京"), "café 東京");
        let paint = Paint { on: true };
        assert_eq!(paint.bold("\x1b[2J"), "\x1b[1m\\e[2J\x1b[0m");
        assert_eq!(Paint { on: false }.hit("x\x1b"), "**x\\e**");
    }
}
