//! Process figures for benchmarks: CPU time and peak resident memory of this process, from `/proc/self`.

use std::time::Duration;

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
