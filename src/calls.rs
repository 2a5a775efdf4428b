//! The one way a served request reaches the engine, for every long-running face: HTTP
//! `/v1`, MCP over HTTP (`/mcp`) and MCP over stdio (`recall mcp`).
//!
//! The engine's work is CPU-bound and synchronous, so each call runs on a blocking
//! thread. At most [`Calls::new`]'s cap run at once; more wait their turn. A caller that
//! has no answer within the time limit (waiting included) gets [`CallError::Timeout`],
//! with the same message on every face. A call that timed out keeps its place until its
//! work really ends (a blocking thread cannot be stopped), so the cap bounds the work
//! running, not just the callers waiting.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Semaphore;

use crate::engine::Engine;
use crate::error::Error;

/// How long a call may take by default, waiting for its turn included.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// Why a call has no answer.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    /// The engine refused or failed: the error says what and why.
    #[error(transparent)]
    Engine(#[from] Error),
    #[error("no answer within {} s; try again", .0.as_secs_f64())]
    Timeout(Duration),
    /// The call's thread panicked: a bug.
    #[error("the request failed: {0}")]
    Failed(String),
}

/// The engine behind a cap on calls at once and a time limit per call.
pub struct Calls {
    engine: Arc<Engine>,
    running: Arc<Semaphore>,
    timeout: Duration,
}

impl Calls {
    /// At most `cap` calls at once (at least one), each answered within `timeout`.
    pub fn new(engine: Arc<Engine>, cap: usize, timeout: Duration) -> Calls {
        Calls {
            engine,
            running: Arc::new(Semaphore::new(cap.max(1))),
            timeout,
        }
    }

    /// The cap a server uses: eight calls per core (most of a call's time is spent on
    /// one core, and waiting on a queue is cheaper than thrashing).
    pub fn for_server(engine: Arc<Engine>, timeout: Duration) -> Calls {
        Calls::new(engine, crate::cores() * 8, timeout)
    }

    pub fn engine(&self) -> &Arc<Engine> {
        &self.engine
    }

    /// Runs `call` on a blocking thread once a place is free, within the time limit.
    pub async fn run<T, F>(&self, call: F) -> Result<T, CallError>
    where
        T: Send + 'static,
        F: FnOnce(&Engine) -> crate::error::Result<T> + Send + 'static,
    {
        let engine = Arc::clone(&self.engine);
        let running = Arc::clone(&self.running);
        let work = async move {
            let permit = running
                .acquire_owned()
                .await
                .map_err(|e| CallError::Failed(e.to_string()))?;
            let task = tokio::task::spawn_blocking(move || {
                let _permit = permit;
                call(&engine)
            });
            match task.await {
                Ok(answer) => answer.map_err(CallError::Engine),
                Err(e) => Err(CallError::Failed(e.to_string())),
            }
        };
        match tokio::time::timeout(self.timeout, work).await {
            Ok(answer) => answer,
            Err(_) => Err(CallError::Timeout(self.timeout)),
        }
    }
}

/// Reads a `--timeout` value: seconds, a positive number up to an hour (`30`, `0.5`).
pub fn parse_timeout(s: &str) -> Result<Duration, String> {
    match s.trim().parse::<f64>() {
        Ok(v) if v > 0.0 && v <= 3600.0 => Ok(Duration::from_secs_f64(v)),
        _ => Err(format!(
            "bad timeout `{s}`: give seconds, a number above 0 and up to 3600, like 30 or 0.5"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeouts_read_as_seconds() {
        assert_eq!(parse_timeout("30"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_timeout("0.5"), Ok(Duration::from_millis(500)));
        for bad in ["0", "-1", "soon", "", "7200"] {
            assert!(parse_timeout(bad).is_err(), "{bad}");
        }
        assert_eq!(
            CallError::Timeout(Duration::from_secs(30)).to_string(),
            "no answer within 30 s; try again"
        );
        assert_eq!(
            CallError::Timeout(Duration::from_millis(1)).to_string(),
            "no answer within 0.001 s; try again"
        );
    }
}
