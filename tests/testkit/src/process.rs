//! Process helpers for benchmarks: CPU time and peak resident memory of this process (from `/proc/self`), and
//! servers run in a child process of their own so that only this process is measured.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::RecvTimeoutError;
use std::time::Duration;

/// Runs this bench again, in a child process, with the allocator settings the deployed functions get, unless it
/// already has them: they are read when a process starts, so only a new process can measure them.
pub fn as_deployed() {
    let deployed = tributary_shared::allocator::DEPLOYED_ENV;
    if deployed
        .iter()
        .all(|(name, value)| std::env::var(name).is_ok_and(|v| v == *value))
    {
        return;
    }
    let exe = std::env::current_exe().expect("the bench knows its own path");
    let status = std::process::Command::new(exe)
        .args(std::env::args_os().skip(1))
        .envs(deployed.iter().copied())
        .status()
        .expect("the bench starts again");
    std::process::exit(status.code().unwrap_or(1));
}

/// The runtime a poller bench measures on: the poller's own ([`tributary_shared::runtime::poller_runtime`]), or
/// with `TRIBUTARY_BENCH_RUNTIME=multi-thread` Tokio's default multi-thread one, to compare the two. Also names it,
/// for the bench to print.
pub fn poller_bench_runtime() -> (tokio::runtime::Runtime, &'static str) {
    match std::env::var("TRIBUTARY_BENCH_RUNTIME").as_deref() {
        Ok("multi-thread") => (
            tokio::runtime::Runtime::new().expect("a multi-thread runtime"),
            "multi-thread",
        ),
        Ok("current-thread") | Err(_) => (
            tributary_shared::runtime::poller_runtime().expect("the poller's runtime"),
            "current-thread",
        ),
        Ok(other) => {
            panic!("TRIBUTARY_BENCH_RUNTIME is multi-thread or current-thread, not {other:?}")
        }
    }
}

/// CPU time (user + system) this process has used so far.
pub fn cpu_time() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name (which may contain spaces) start after the last ')'.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest.split_whitespace().collect())
        .unwrap_or_default();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<u64>().ok())
            .unwrap_or(0)
    };
    // utime and stime are fields 14 and 15 of the whole line: 12 and 13 after the command name.
    let total = ticks(11) + ticks(12);
    let hz = clock_ticks_per_second();
    Duration::from_nanos(total * 1_000_000_000 / hz)
}

fn clock_ticks_per_second() -> u64 {
    // USER_HZ is 100 on every Linux configuration Lambda and CI use.
    100
}

/// Peak resident set size (VmHWM) in KiB.
pub fn peak_rss_kib() -> u64 {
    status_field("VmHWM:")
}

/// Current resident set size (VmRSS) in KiB.
pub fn rss_kib() -> u64 {
    status_field("VmRSS:")
}

fn status_field(name: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix(name))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// A span of work: wall time and CPU time from `start` to `finish`.
pub struct Measure {
    wall: std::time::Instant,
    cpu: Duration,
}

pub struct Figures {
    pub wall: Duration,
    pub cpu: Duration,
    pub peak_rss_kib: u64,
}

impl Measure {
    pub fn start() -> Self {
        Measure {
            wall: std::time::Instant::now(),
            cpu: cpu_time(),
        }
    }

    pub fn finish(self) -> Figures {
        Figures {
            wall: self.wall.elapsed(),
            cpu: cpu_time().saturating_sub(self.cpu),
            peak_rss_kib: peak_rss_kib(),
        }
    }
}

impl Figures {
    /// Prints the standard benchmark lines for `items` units of work named `unit`.
    pub fn print(&self, what: &str, items: u64, unit: &str) {
        let secs = self.wall.as_secs_f64();
        println!("{what}: {items} {unit} in {secs:.2} s");
        println!("  throughput: {:.0} {unit}/s", items as f64 / secs);
        println!(
            "  cpu: {:.0} ns/{}",
            self.cpu.as_nanos() as f64 / items.max(1) as f64,
            unit.trim_end_matches('s')
        );
        println!("  peak rss: {:.1} MiB", self.peak_rss_kib as f64 / 1024.0);
    }
}

/// How long gzip alone takes to compress `ndjson` at `level`: the floor under any landing of the same data.
pub fn gzip_time(ndjson: &[u8], level: u32) -> Duration {
    use std::io::Write;
    let started = std::time::Instant::now();
    // Compress in 1 MiB objects, as landing does per batch, so the figure is comparable.
    for chunk in ndjson.chunks(1 << 20) {
        let mut encoder =
            flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(level));
        encoder
            .write_all(chunk)
            .expect("compressing into a Vec cannot fail");
        std::hint::black_box(
            encoder
                .finish()
                .expect("compressing into a Vec cannot fail"),
        );
    }
    started.elapsed()
}

/// How long a child server may take to print its URL: generous, as a simulator may seed a large backlog first.
const CHILD_SERVER_START: Duration = Duration::from_secs(300);

/// A server in a child process, killed (and waited for) when dropped.
pub struct ChildServer {
    child: Child,
    base_url: String,
}

impl ChildServer {
    /// Starts `command` with stdout piped and waits for the first `http://...` URL it prints there (the URL
    /// runs to the end of its word, so both a bare base URL and `listening on <url>` work). Stdout keeps being
    /// read until it closes, so a server that logs there never blocks on a full pipe; stderr is left as
    /// `command` sets it. Panics when the process cannot start, or exits or stays silent without a URL.
    pub fn start(command: &mut Command) -> ChildServer {
        let program = command.get_program().to_string_lossy().into_owned();
        let mut child = command
            .stdout(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {program}: {e}"));
        let stdout = child.stdout.take().expect("stdout is piped");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut tx = Some(tx);
            for line in BufReader::new(stdout).split(b'\n') {
                let Ok(line) = line else { break };
                let line = String::from_utf8_lossy(&line);
                if let Some(at) = line.find("http://") {
                    if let Some(tx) = tx.take() {
                        let url = line[at..].split_whitespace().next().unwrap_or_default();
                        let _ = tx.send(url.to_owned());
                    }
                }
            }
        });
        let base_url = match rx.recv_timeout(CHILD_SERVER_START) {
            Ok(url) => url,
            Err(error) => {
                let _ = child.kill();
                let status = child.wait();
                let why = match error {
                    RecvTimeoutError::Timeout => format!("within {CHILD_SERVER_START:?}"),
                    RecvTimeoutError::Disconnected => "before closing it".to_owned(),
                };
                panic!("{program} printed no http:// URL on stdout {why} (exit: {status:?})");
            }
        };
        ChildServer { child, base_url }
    }

    /// The URL the server printed, e.g. `http://127.0.0.1:<port>`.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }
}

impl Drop for ChildServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
