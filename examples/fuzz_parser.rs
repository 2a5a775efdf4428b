//! Fuzzes the note parser: `Note::parse` must never panic and must keep its promises
//! (line ranges inside the text, strength in 0..=1, no empty tags, ...) on any input.
//!
//!     cargo run --release --example fuzz_parser -- --count 1000000 --seed 1
//!
//! Options: `--count N` (default 1,000,000), `--seed S` (default 1), `--start I` (first
//! input index, default 0; `--start I --count 1` replays input I), `--out DIR` (where a
//! failing input is written, default `target/fuzz`), `--print` (print the inputs as Rust
//! strings instead of parsing them), `--save` (write the inputs to DIR instead), `--keep-going` (go on after a failure; each distinct
//! failure is reported and written once), `--file PATH` (parse and check just that file,
//! e.g. a saved failing input, and time it).
//!
//! On a failure it writes the input (and a shrunk copy) to DIR, prints their paths and
//! exits 1 (after the first failure, or at the end with `--keep-going`). Otherwise the last line is `fuzz: N inputs, 0 panics, X s`. The generator and
//! checks live in `tests/fuzzgen/mod.rs`, shared with the quick run in `tests/hostile.rs`.

#[path = "../tests/fuzzgen/mod.rs"]
mod fuzzgen;

use std::backtrace::Backtrace;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Mutex;

/// Where the last panic happened (file:line:col) and its backtrace, recorded by the quiet
/// panic hook.
static LAST_PANIC: Mutex<Option<(Option<String>, Backtrace)>> = Mutex::new(None);

struct Args {
    count: u64,
    seed: u64,
    start: u64,
    out: PathBuf,
    print: bool,
    save: bool,
    keep_going: bool,
    file: Option<PathBuf>,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        count: 1_000_000,
        seed: 1,
        start: 0,
        out: PathBuf::from("target/fuzz"),
        print: false,
        save: false,
        keep_going: false,
        file: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or_else(|| format!("{flag} needs a value"));
        let number = |v: String| {
            v.replace('_', "")
                .parse::<u64>()
                .map_err(|e| format!("{flag}: {e}"))
        };
        match flag.as_str() {
            "--count" => args.count = number(value()?)?,
            "--seed" => args.seed = number(value()?)?,
            "--start" => args.start = number(value()?)?,
            "--out" => args.out = PathBuf::from(value()?),
            "--print" => args.print = true,
            "--save" => args.save = true,
            "--keep-going" => args.keep_going = true,
            "--file" => args.file = Some(PathBuf::from(value()?)),
            "-h" | "--help" => {
                println!("usage: fuzz_parser [--count N] [--seed S] [--start I] [--out DIR] [--print] [--save] [--keep-going] [--file PATH]");
                std::process::exit(0);
            }
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    Ok(args)
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("fuzz_parser: {e}");
            return ExitCode::from(2);
        }
    };
    if args.print || args.save {
        let _ = std::fs::create_dir_all(&args.out);
        for i in args.start..args.start.saturating_add(args.count) {
            let text = fuzzgen::input(args.seed, i);
            if args.save {
                let path = args.out.join(format!("input-seed{}-{i}.md", args.seed));
                if let Err(e) = std::fs::write(&path, &text) {
                    eprintln!("fuzz_parser: {}: {e}", path.display());
                    return ExitCode::FAILURE;
                }
                println!("{}", path.display());
            } else {
                println!("#{i}: {text:?}");
            }
        }
        return ExitCode::SUCCESS;
    }
    if let Some(path) = &args.file {
        let bytes = match std::fs::read(path) {
            Ok(b) => b,
            Err(e) => {
                eprintln!("fuzz_parser: {}: {e}", path.display());
                return ExitCode::from(2);
            }
        };
        let text = String::from_utf8_lossy(&bytes);
        let t = std::time::Instant::now();
        let r = fuzzgen::run_one(&text);
        println!(
            "{}: {} bytes, {:.1} ms: {}",
            path.display(),
            text.len(),
            t.elapsed().as_secs_f64() * 1e3,
            match &r {
                Ok(()) => "ok".to_string(),
                Err(f) => f.to_string(),
            }
        );
        return if r.is_ok() {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        };
    }
    // Panics are caught and reported per input; the default hook would print each one
    // (and the shrinker provokes thousands). Keep where it happened instead.
    std::panic::set_hook(Box::new(|info| {
        let at = info
            .location()
            .map(|l| format!("{}:{}:{}", l.file(), l.line(), l.column()));
        *LAST_PANIC.lock().unwrap_or_else(|e| e.into_inner()) = Some((at, Backtrace::force_capture()));
    }));
    let end = args.start.saturating_add(args.count);
    eprintln!("fuzz_parser: inputs {}..{end} of seed {}", args.start, args.seed);
    let mut total = fuzzgen::Stats::default();
    let mut failures = 0u64;
    let mut panics = 0u64;
    let mut seen: Vec<String> = Vec::new();
    let mut next = args.start;
    while next < end {
        let result = fuzzgen::run(args.seed, next, end - next, &mut |s| {
            eprintln!(
                "fuzz_parser: {} inputs, {:.1} MB, {:.1} s",
                total.inputs + s.inputs,
                (total.bytes + s.bytes) as f64 / 1e6,
                (total.elapsed + s.elapsed).as_secs_f64()
            );
        });
        let (stats, found) = result;
        merge(&mut total, &stats);
        let Some(found) = found else { break };
        next = found.index + 1;
        failures += 1;
        panics += u64::from(matches!(found.failure, fuzzgen::Failure::Panic(_)));
        let (at, backtrace) = where_it_panicked(&found.failure);
        // One report per distinct failure (message and place); later ones only count.
        let key = match &found.failure {
            fuzzgen::Failure::Panic(m) => format!("{m} at {at}"),
            fuzzgen::Failure::Invariant(_) => "invariant".to_string(),
        };
        if seen.contains(&key) {
            if !args.keep_going {
                break;
            }
            continue;
        }
        seen.push(key);
        report(&args, &found, &at, &recall_frames(backtrace));
        if !args.keep_going {
            break;
        }
    }
    let (i, len, took) = total.slowest;
    println!("inputs that reached: {}", total.coverage.summary(total.inputs));
    println!(
        "slowest input: #{i} ({len} bytes) {:.1} ms; {:.1} MB parsed",
        took.as_secs_f64() * 1e3,
        total.bytes as f64 / 1e6
    );
    if failures > 0 {
        println!(
            "fuzz: {} inputs, {panics} panics, {} invariant failures ({} distinct), {:.1} s; inputs written to {}",
            total.inputs,
            failures - panics,
            seen.len(),
            total.elapsed.as_secs_f64(),
            args.out.display()
        );
        return ExitCode::FAILURE;
    }
    println!(
        "fuzz: {} inputs, 0 panics, {:.1} s",
        total.inputs,
        total.elapsed.as_secs_f64()
    );
    ExitCode::SUCCESS
}

fn merge(total: &mut fuzzgen::Stats, s: &fuzzgen::Stats) {
    total.inputs += s.inputs;
    total.bytes += s.bytes;
    total.elapsed += s.elapsed;
    if s.slowest.2 > total.slowest.2 {
        total.slowest = s.slowest;
    }
    let (t, c) = (&mut total.coverage, &s.coverage);
    t.headed_sections += c.headed_sections;
    t.links += c.links;
    t.embeds += c.embeds;
    t.tags += c.tags;
    t.front_matter += c.front_matter;
    t.footer += c.footer;
    t.strength += c.strength;
    t.dates += c.dates;
    t.warnings += c.warnings;
}

/// The panic's location and backtrace (recorded by the hook), for a panic.
fn where_it_panicked(failure: &fuzzgen::Failure) -> (String, Option<Backtrace>) {
    if !matches!(failure, fuzzgen::Failure::Panic(_)) {
        return (String::new(), None);
    }
    match LAST_PANIC.lock().unwrap_or_else(|e| e.into_inner()).take() {
        Some((at, bt)) => (at.unwrap_or_else(|| "?".into()), Some(bt)),
        None => ("?".into(), None),
    }
}

/// The recall frames of a backtrace (the panic's own location is often inside core, e.g.
/// for an arithmetic overflow). Resolving symbols is slow: only for reported failures.
fn recall_frames(bt: Option<Backtrace>) -> Vec<String> {
    let Some(bt) = bt else { return Vec::new() };
    let text = bt.to_string();
    if std::env::var_os("FUZZ_BT").is_some() {
        eprintln!("{text}");
    }
    let lines: Vec<&str> = text.lines().collect();
    let mut frames = Vec::new();
    let src = concat!(env!("CARGO_MANIFEST_DIR"), "/src/");
    for pair in lines.windows(2) {
        let at = pair[1].trim();
        if at.starts_with("at ") && (at.contains("./src/") || at.contains(src)) {
            frames.push(format!("{} ({at})", pair[0].trim()));
        }
    }
    frames
}

fn report(args: &Args, found: &fuzzgen::Found, at: &str, frames: &[String]) {
    eprintln!(
        "fuzz_parser: input #{} of seed {} fails: {}",
        found.index, args.seed, found.failure
    );
    if !at.is_empty() {
        eprintln!("fuzz_parser: panicked at {at}");
        for f in frames.iter().take(6) {
            eprintln!("fuzz_parser:   in {f}");
        }
    }
    let _ = std::fs::create_dir_all(&args.out);
    let base = args.out.join(format!("crash-seed{}-{}", args.seed, found.index));
    let full = PathBuf::from(format!("{}.md", base.display()));
    let min_path = PathBuf::from(format!("{}-min.md", base.display()));
    if let Err(e) = std::fs::write(&full, &found.input) {
        eprintln!("fuzz_parser: cannot write {}: {e}", full.display());
    }
    eprintln!("fuzz_parser: shrinking {} bytes...", found.input.len());
    let min = fuzzgen::minimize(&found.input, &found.failure);
    if let Err(e) = std::fs::write(&min_path, &min) {
        eprintln!("fuzz_parser: cannot write {}: {e}", min_path.display());
    }
    eprintln!("fuzz_parser: minimal input ({} bytes): {min:?}", min.len());
    eprintln!(
        "fuzz_parser: written to {} (shrunk: {})",
        full.display(),
        min_path.display()
    );
    eprintln!(
        "fuzz_parser: replay: --seed {} --start {} --count 1",
        args.seed, found.index
    );
}
