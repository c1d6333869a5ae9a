//! Per-call containment that is not WASI itself: the memory limiter and the size-capped capture of the
//! guest's stdout/stderr and log lines.

use super::types::{LogLevel, LogLine};
use std::sync::{Arc, Mutex, PoisonError};
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};
use wasmtime_wasi::p2::{OutputStream, Pollable, StreamError, StreamResult};

/// Caps the total linear memory (all memories together) and table sizes of one call's store. A refused
/// growth traps (returning an error from the limiter is what `trap_on_grow_failure` does) and sets a flag,
/// so the caller reports a memory error without parsing trap text.
#[derive(Debug)]
pub struct MemoryLimiter {
    cap: usize,
    used: usize,
    /// Set when a growth was refused.
    pub hit: bool,
}

impl MemoryLimiter {
    /// A limiter allowing `cap` bytes of linear memory in total.
    pub fn new(cap: usize) -> Self {
        MemoryLimiter {
            cap,
            used: 0,
            hit: false,
        }
    }
}

/// Table elements allowed per table; generous for real guests (JS engines have large tables).
const MAX_TABLE_ELEMENTS: usize = 1 << 20;

impl wasmtime::ResourceLimiter for MemoryLimiter {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        _max: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let total = self.used.saturating_add(desired.saturating_sub(current));
        if total > self.cap {
            self.hit = true;
            return Err(wasmtime::Error::msg(format!(
                "memory limit of {} bytes exceeded (wanted {total})",
                self.cap
            )));
        }
        self.used = total;
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _max: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > MAX_TABLE_ELEMENTS {
            self.hit = true;
            return Err(wasmtime::Error::msg(format!(
                "table limit of {MAX_TABLE_ELEMENTS} elements exceeded"
            )));
        }
        Ok(true)
    }
}

#[derive(Debug, Default)]
struct Buffer {
    bytes: Vec<u8>,
    dropped: usize,
}

/// A guest output stream that keeps the first `cap` bytes and silently drops the rest. Dropping (instead of
/// failing the write) matters: a guest whose print fails usually panics, and a chatty plugin should not die
/// for being chatty.
#[derive(Debug, Clone)]
pub struct CappedPipe {
    buf: Arc<Mutex<Buffer>>,
    cap: usize,
}

impl CappedPipe {
    /// A pipe keeping at most `cap` bytes.
    pub fn new(cap: usize) -> Self {
        CappedPipe {
            buf: Arc::default(),
            cap,
        }
    }

    fn append(&self, bytes: &[u8]) {
        let mut b = self.buf.lock().unwrap_or_else(PoisonError::into_inner);
        let room = self.cap.saturating_sub(b.bytes.len());
        let take = room.min(bytes.len());
        b.bytes.extend_from_slice(&bytes[..take]);
        b.dropped += bytes.len() - take;
    }

    /// The kept bytes and how many were dropped.
    pub fn contents(&self) -> (Vec<u8>, usize) {
        let b = self.buf.lock().unwrap_or_else(PoisonError::into_inner);
        (b.bytes.clone(), b.dropped)
    }
}

/// How much a guest may write per `check-write` permit; bounded so one write is never a huge allocation.
const WRITE_PERMIT: usize = 64 * 1024;

impl OutputStream for CappedPipe {
    fn write(&mut self, bytes: bytes::Bytes) -> StreamResult<()> {
        self.append(&bytes);
        Ok(())
    }
    fn flush(&mut self) -> StreamResult<()> {
        Ok(())
    }
    fn check_write(&mut self) -> Result<usize, StreamError> {
        Ok(WRITE_PERMIT)
    }
}

#[wasmtime_wasi::async_trait]
impl Pollable for CappedPipe {
    async fn ready(&mut self) {}
}

impl tokio::io::AsyncWrite for CappedPipe {
    fn poll_write(
        self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        self.append(buf);
        std::task::Poll::Ready(Ok(buf.len()))
    }
    fn poll_flush(
        self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }
    fn poll_shutdown(
        self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }
}

impl IsTerminal for CappedPipe {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for CappedPipe {
    fn p2_stream(&self) -> Box<dyn OutputStream> {
        Box::new(self.clone())
    }
    fn async_stream(&self) -> Box<dyn tokio::io::AsyncWrite + Send + Sync> {
        Box::new(self.clone())
    }
}

/// Log lines of one call, capped in total bytes; lines beyond the cap are counted, not kept.
#[derive(Debug)]
pub struct LogSink {
    lines: Vec<LogLine>,
    bytes: usize,
    cap: usize,
    dropped: usize,
}

/// The longest single line kept (longer lines are cut).
const MAX_LINE: usize = 4096;

impl LogSink {
    /// A sink keeping about `cap` bytes.
    pub fn new(cap: usize) -> Self {
        LogSink {
            lines: Vec::new(),
            bytes: 0,
            cap,
            dropped: 0,
        }
    }

    /// Add a line.
    pub fn push(&mut self, level: LogLevel, message: &str) {
        let mut message = message.to_string();
        if message.len() > MAX_LINE {
            let mut end = MAX_LINE;
            while !message.is_char_boundary(end) {
                end -= 1;
            }
            message.truncate(end);
            message.push('…');
        }
        if self.bytes + message.len() > self.cap {
            self.dropped += 1;
            return;
        }
        self.bytes += message.len();
        self.lines.push(LogLine { level, message });
    }

    /// Add captured stdio output as lines, noting how much was dropped.
    pub fn push_stream(&mut self, level: LogLevel, (bytes, dropped): (Vec<u8>, usize)) {
        let text = String::from_utf8_lossy(&bytes);
        for line in text.lines().filter(|l| !l.is_empty()) {
            self.push(level, line);
        }
        if dropped > 0 {
            self.push(
                LogLevel::Warn,
                &format!("{dropped} more bytes of {level:?} output were dropped (cap)"),
            );
        }
    }

    /// The kept lines, plus a note when some were dropped.
    pub fn finish(mut self) -> Vec<LogLine> {
        if self.dropped > 0 {
            self.lines.push(LogLine {
                level: LogLevel::Warn,
                message: format!(
                    "{} more log lines were dropped (cap {} bytes)",
                    self.dropped, self.cap
                ),
            });
        }
        self.lines
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasmtime::ResourceLimiter;

    #[test]
    fn limiter_counts_all_growth() {
        let mut l = MemoryLimiter::new(100);
        assert!(l.memory_growing(0, 60, None).is_ok());
        assert!(l.memory_growing(0, 30, None).is_ok(), "a second memory");
        assert!(l.memory_growing(60, 80, None).is_err());
        assert!(l.hit);
    }

    #[test]
    fn pipe_and_sink_cap() {
        let p = CappedPipe::new(10);
        p.append(b"hello ");
        p.append(b"world, long");
        assert_eq!(p.contents(), (b"hello worl".to_vec(), 7));
        let mut s = LogSink::new(8);
        s.push_stream(LogLevel::Stdout, p.contents());
        let lines = s.finish();
        assert!(
            lines.iter().any(|l| l.message.contains("dropped")),
            "{lines:?}"
        );
    }
}
