//! `status` as text: a narrow table that fits a terminal (what an on-call engineer reads first), a wide one
//! with cursors and leases, then one line per stream that needs attention saying why.

use chrono::{DateTime, Utc};

use crate::status::{human_duration, StreamStatus};

/// `12 s ago`, `3 min ago`, `2 h ago`, `4 d ago`; `in 3 min` for a time ahead.
pub fn relative(at: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let seconds = (now - at).num_seconds();
    let (ahead, seconds) = (seconds < 0, seconds.abs());
    let amount = match seconds {
        0..=59 => format!("{seconds} s"),
        60..=5399 => format!("{} min", seconds / 60),
        5400..=172_799 => format!("{} h", seconds / 3600),
        _ => format!("{} d", seconds / 86_400),
    };
    if ahead {
        format!("in {amount}")
    } else {
        format!("{amount} ago")
    }
}

fn relative_text(text: Option<&str>, now: DateTime<Utc>) -> String {
    text.and_then(|t| DateTime::parse_from_rfc3339(t).ok())
        .map(|t| relative(t.with_timezone(&Utc), now))
        .unwrap_or_else(|| "-".into())
}

fn shorten(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_owned()
    } else {
        let head: String = text.chars().take(max - 1).collect();
        format!("{head}…")
    }
}

fn health(s: &StreamStatus) -> String {
    if s.attention.is_empty() {
        if s.lease_holder.is_some() {
            "running".into()
        } else {
            "ok".into()
        }
    } else {
        s.attention.join(",")
    }
}

fn outcome(s: &StreamStatus) -> String {
    match (&s.last_run_outcome, s.last_run_events) {
        (Some(outcome), Some(events)) => format!("{outcome} ({events})"),
        (Some(outcome), None) => outcome.clone(),
        _ => "-".into(),
    }
}

/// The table, then the reasons. `wide` adds the cursor, the newest event, the lease and the overdue limit.
pub fn render(streams: &[StreamStatus], now: DateTime<Utc>, wide: bool) -> String {
    if streams.is_empty() {
        return "no streams yet: nothing has run against this state table\n".to_owned();
    }
    let mut header = vec![
        "STREAM",
        "HEALTH",
        "LAST RUN",
        "OUTCOME (EVENTS)",
        "LAG",
        "TOTAL",
    ];
    if wide {
        header.extend(["CURSOR", "NEWEST EVENT", "LEASE", "OVERDUE AFTER"]);
    }
    let rows: Vec<Vec<String>> = streams
        .iter()
        .map(|s| {
            let mut row = vec![
                s.stream.clone(),
                health(s),
                relative_text(s.last_run_finished_at.as_deref(), now),
                outcome(s),
                s.lag_seconds
                    .map(human_duration)
                    .unwrap_or_else(|| "-".into()),
                s.events_landed_total.to_string(),
            ];
            if wide {
                row.extend([
                    shorten(s.cursor.as_deref().unwrap_or("-"), 38),
                    s.newest_event_time.clone().unwrap_or_else(|| "-".into()),
                    match (&s.lease_holder, &s.lease_until) {
                        (Some(holder), until) => format!(
                            "{} until {}",
                            shorten(holder, 40),
                            relative_text(until.as_deref(), now)
                        ),
                        _ => "free".into(),
                    },
                    s.overdue_after_seconds
                        .map(|secs| human_duration(secs as i64))
                        .unwrap_or_else(|| "not scheduled".into()),
                ]);
            }
            row
        })
        .collect();
    let mut widths: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let line = |cells: &[&str]| {
        let mut out = String::new();
        for (cell, width) in cells.iter().zip(&widths) {
            out.push_str(&format!("{cell:<width$}  "));
        }
        out.trim_end().to_owned() + "\n"
    };
    let mut out = line(&header);
    for row in &rows {
        out.push_str(&line(&row.iter().map(String::as_str).collect::<Vec<_>>()));
    }
    out.push_str(&reasons(streams, now));
    out
}

/// One paragraph per stream an operator should look at, and a closing count.
fn reasons(streams: &[StreamStatus], now: DateTime<Utc>) -> String {
    let mut out = String::new();
    for s in streams {
        if let Some(error) = &s.last_run_error {
            out.push_str(&format!("\n{}: last run failed: {error}\n", s.stream));
        }
        if let Some(losses) = &s.last_run_losses {
            out.push_str(&format!("\n{}: last run degraded: {losses}\n", s.stream));
        }
        if s.pending_batches > 0 {
            out.push_str(&format!(
                "\n{}: {} batch(es) S3 refused wait in the state table; the next run lands them first\n",
                s.stream, s.pending_batches
            ));
        }
        if s.overdue {
            let since = match s.last_run_finished_at.as_deref() {
                Some(at) => format!("the last run finished {}", relative_text(Some(at), now)),
                None => "no run has finished yet".into(),
            };
            let after = s.overdue_after_seconds.unwrap_or_default() as i64;
            out.push_str(&format!(
                "\n{}: overdue: {since}, and runs are expected within {}. Check the schedule and the \
                 function's errors and throttles (or pass --schedule {}=off if it is off on purpose).\n",
                s.stream,
                human_duration(after),
                s.stream
            ));
        }
    }
    let attention = streams.iter().filter(|s| s.needs_attention()).count();
    out.push_str(&match attention {
        0 => format!("\n{} streams, all healthy\n", streams.len()),
        1 => format!("\n{} streams, 1 needs attention\n", streams.len()),
        n => format!("\n{} streams, {n} need attention\n", streams.len()),
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn relative_times_read_like_an_operator_says_them() {
        let now = Utc.with_ymd_and_hms(2026, 11, 23, 12, 0, 0).unwrap();
        let ago = |s: i64| relative(now - chrono::Duration::seconds(s), now);
        assert_eq!(ago(12), "12 s ago");
        assert_eq!(ago(200), "3 min ago");
        assert_eq!(ago(3 * 3600), "3 h ago");
        assert_eq!(ago(5 * 86_400), "5 d ago");
        assert_eq!(ago(-240), "in 4 min");
    }
}
