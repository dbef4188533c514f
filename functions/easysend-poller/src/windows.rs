//! Time windows on a fixed grid, and which of them a run fetches.
//!
//! Windows are `[start, end)` of a fixed size, aligned to multiples of that size since the epoch. What a window
//! fetches lands in objects named after fixed five-minute cells ([`crate::cells`]), not after the window, so
//! fetching a window again (because of the overlap, a retry, a run that crashed before moving the cursor, or after
//! the window size changed) overwrites its objects with what the vendor holds now — a superset once late logs
//! have arrived — and never adds a second copy.

use chrono::{DateTime, Duration, NaiveDateTime, Utc};

/// One half-open time range `[start, end)`, whole seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Window {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
}

impl Window {
    pub fn new(start: DateTime<Utc>, end: DateTime<Utc>) -> Self {
        Window { start, end }
    }

    pub fn width(&self) -> Duration {
        self.end - self.start
    }

    pub fn contains(&self, at: DateTime<Utc>) -> bool {
        self.start <= at && at < self.end
    }

    /// The two halves, split on a whole second; `None` when the window is narrower than `2 × min` (in
    /// whole seconds), i.e. when a half would be narrower than `min`.
    pub fn halves(&self, min: Duration) -> Option<(Window, Window)> {
        let width = self.width().num_seconds();
        let half = width / 2;
        if half < min.num_seconds().max(1) {
            return None;
        }
        let middle = self.start + Duration::seconds(half);
        Some((
            Window::new(self.start, middle),
            Window::new(middle, self.end),
        ))
    }

    /// The object id of this window's objects: `20261121T100000Z-20261121T100500Z`.
    pub fn tag(&self) -> String {
        format!("{}-{}", compact(self.start), compact(self.end))
    }

    /// `2026-11-21T10:00:00Z/2026-11-21T10:05:00Z`, for logs and records.
    pub fn label(&self) -> String {
        format!("{}/{}", rfc3339(self.start), rfc3339(self.end))
    }

    /// The window whose [`Window::tag`] is `tag`.
    pub fn from_tag(tag: &str) -> Option<Window> {
        let (start, end) = tag.split_once('-')?;
        let at = |text: &str| {
            NaiveDateTime::parse_from_str(text, "%Y%m%dT%H%M%SZ")
                .ok()
                .map(|at| at.and_utc())
        };
        Some(Window::new(at(start)?, at(end)?))
    }

    /// The window whose [`Window::label`] is `label`.
    pub fn from_label(label: &str) -> Option<Window> {
        let (start, end) = label.split_once('/')?;
        let at = |text: &str| {
            DateTime::parse_from_rfc3339(text)
                .ok()
                .map(|at| at.to_utc())
        };
        Some(Window::new(at(start)?, at(end)?))
    }

    /// Whether the two windows share a moment.
    pub fn overlaps(&self, other: Window) -> bool {
        self.start < other.end && other.start < self.end
    }
}

impl std::fmt::Display for Window {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}–{}", param(self.start), param(self.end))
    }
}

/// The wire format of EasySend's time parameters: `YYYYMMDDHHMMSS`, UTC.
pub fn param(at: DateTime<Utc>) -> String {
    at.format("%Y%m%d%H%M%S").to_string()
}

fn compact(at: DateTime<Utc>) -> String {
    at.format("%Y%m%dT%H%M%SZ").to_string()
}

/// The cursor's text form: RFC 3339 in UTC, whole seconds (`2026-11-21T10:05:00Z`).
pub fn rfc3339(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// The start of the grid window holding `at`.
pub fn align_down(at: DateTime<Utc>, size: Duration) -> DateTime<Utc> {
    let size = size.num_seconds().max(1);
    let seconds = at.timestamp().div_euclid(size) * size;
    DateTime::from_timestamp(seconds, 0).expect("a grid point near a valid time is valid")
}

/// Grid windows of `size` covering `[from, to)`, the first and the last cut to it.
pub fn span(from: DateTime<Utc>, to: DateTime<Utc>, size: Duration) -> Vec<Window> {
    let mut windows = Vec::new();
    let mut start = from;
    while start < to {
        let end = (align_down(start, size) + size).min(to);
        windows.push(Window::new(start, end));
        start = end;
    }
    windows
}

/// The settings that shape a plan.
#[derive(Debug, Clone, Copy)]
pub struct Grid {
    pub size: Duration,
    /// How far behind now the newest window must end, so that logs the vendor writes late are there.
    pub lag: Duration,
    /// How far before the cursor each run fetches again, to catch logs that arrived after their window
    /// was fetched.
    pub overlap: Duration,
    /// Where the first run starts, before now.
    pub lookback: Duration,
    /// How long the vendor keeps logs.
    pub retention: Duration,
}

/// What one run does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// Windows to fetch, oldest first. Those ending at or before the cursor are re-fetches.
    pub windows: Vec<Window>,
    /// Logs between the cursor and this range expired at the vendor before anyone fetched them.
    pub lost: Option<Window>,
    /// Where the first run starts (no cursor yet).
    pub first_start: Option<DateTime<Utc>>,
}

/// How far inside the vendor's retention a first start stays: the request reaches EasySend moments after it is
/// planned, and its clock may differ from ours by a little.
pub const RETENTION_MARGIN: Duration = Duration::minutes(2);

/// The first whole second at or after `at`.
fn ceil_second(at: DateTime<Utc>) -> DateTime<Utc> {
    let whole = DateTime::from_timestamp(at.timestamp(), 0)
        .expect("a whole second of a valid time is valid");
    if whole < at {
        whole + Duration::seconds(1)
    } else {
        whole
    }
}

impl Grid {
    /// The windows a run at `now` fetches, given the stream's cursor (the end of the last landed window).
    pub fn plan(&self, cursor: Option<DateTime<Utc>>, now: DateTime<Utc>) -> Plan {
        let Some(cursor) = cursor else {
            return self.plan_from_first_start(self.first_start(now), now);
        };
        let horizon = align_down(now - self.lag, self.size);
        let reachable = self.reachable(now);
        let lost = (cursor < reachable).then(|| Window::new(cursor, reachable));
        // Re-fetching what the vendor no longer keeps would only ask for nothing.
        let from = align_down(cursor - self.overlap, self.size).max(reachable);
        Plan {
            windows: Self::windows(from, horizon, self.size),
            lost,
            first_start: None,
        }
    }

    /// The oldest second the vendor still keeps at `now`. A range before it is lost only if a cursor (or a first
    /// start) lies before it: the range was reachable once and not fetched.
    pub fn reachable(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        ceil_second(now - self.retention)
    }

    /// Where a stream without a cursor starts at `now`: the look-back before now on the grid, but never earlier
    /// than [`RETENTION_MARGIN`] inside what the vendor still keeps (then the first window is the partial one from
    /// there to the next grid point), so nothing that was never reachable can be reported lost later.
    pub fn first_start(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        align_down(now - self.lookback, self.size)
            .max(ceil_second(now - self.retention + RETENTION_MARGIN))
    }

    /// The plan of a stream without a cursor whose first start was chosen (and stored) by an earlier run. If that
    /// start has expired at the vendor since, the expired part was reachable then and never fetched: it is lost.
    pub fn plan_from_first_start(&self, start: DateTime<Utc>, now: DateTime<Utc>) -> Plan {
        let horizon = align_down(now - self.lag, self.size);
        let reachable = self.reachable(now);
        Plan {
            windows: Self::windows(start.max(reachable), horizon, self.size),
            lost: (start < reachable).then(|| Window::new(start, reachable)),
            first_start: Some(start),
        }
    }

    /// Grid windows from `from` to `horizon`; a `from` off the grid makes the first window end at the next grid
    /// point.
    fn windows(from: DateTime<Utc>, horizon: DateTime<Utc>, size: Duration) -> Vec<Window> {
        let mut windows = Vec::new();
        let mut start = from;
        let mut end = align_down(from, size) + size;
        while end <= horizon {
            windows.push(Window::new(start, end));
            start = end;
            end += size;
        }
        windows
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(h: u32, m: u32, s: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 21, h, m, s).unwrap()
    }

    #[test]
    fn a_windows_tag_and_label_read_back_as_the_window() {
        let window = Window::new(at(9, 55, 0), at(10, 0, 30));
        assert_eq!(Window::from_tag(&window.tag()), Some(window));
        assert_eq!(Window::from_label(&window.label()), Some(window));
        for bad in ["", "20261121T095500Z", "x-y", "20261121T095500Z-2026"] {
            assert_eq!(Window::from_tag(bad), None, "{bad}");
        }
        assert_eq!(Window::from_label("2026-11-21T09:55:00Z"), None);
        let next = Window::new(at(10, 0, 30), at(10, 5, 0));
        assert!(
            !window.overlaps(next) && !next.overlaps(window),
            "half-open windows that touch"
        );
        let wide = Window::new(at(9, 0, 0), at(11, 0, 0));
        assert!(wide.overlaps(window) && window.overlaps(wide));
    }

    fn grid() -> Grid {
        Grid {
            size: Duration::minutes(5),
            lag: Duration::minutes(2),
            overlap: Duration::minutes(10),
            lookback: Duration::hours(1),
            retention: Duration::hours(48),
        }
    }

    #[test]
    fn a_run_refetches_the_overlap_and_stops_at_now_minus_lag() {
        let plan = grid().plan(Some(at(10, 0, 0)), at(10, 13, 30));
        let starts: Vec<_> = plan.windows.iter().map(|w| w.start).collect();
        // 09:50 and 09:55 again (overlap), then 10:00 and 10:05; 10:10 ends after 10:11:30.
        assert_eq!(
            starts,
            [at(9, 50, 0), at(9, 55, 0), at(10, 0, 0), at(10, 5, 0)]
        );
        assert_eq!(plan.lost, None);
    }

    #[test]
    fn windows_are_on_the_grid_whatever_the_cursor() {
        let plan = grid().plan(Some(at(10, 2, 17)), at(10, 30, 0));
        assert!(plan
            .windows
            .iter()
            .all(|w| w.start.timestamp() % 300 == 0 && w.width() == Duration::minutes(5)));
        assert_eq!(plan.windows[0].start, at(9, 50, 0));
    }

    #[test]
    fn the_first_run_starts_a_lookback_ago() {
        let plan = grid().plan(None, at(10, 13, 30));
        assert_eq!(plan.first_start, Some(at(9, 10, 0)));
        assert_eq!(plan.windows.first().unwrap().start, at(9, 10, 0));
        assert_eq!(plan.windows.last().unwrap().end, at(10, 10, 0));
    }

    #[test]
    fn a_cursor_older_than_the_retention_reports_the_lost_range() {
        let now = at(10, 0, 0);
        let cursor = now - Duration::hours(50);
        let plan = grid().plan(Some(cursor), now);
        let reachable = now - Duration::hours(48);
        assert_eq!(plan.lost, Some(Window::new(cursor, reachable)));
        assert_eq!(plan.windows[0].start, reachable);
        assert_eq!(plan.windows[0].end, at(10, 5, 0) - Duration::hours(48));
    }

    #[test]
    fn a_first_start_a_whole_retention_back_stays_inside_what_the_vendor_keeps() {
        let mut grid = grid();
        grid.size = Duration::hours(1);
        grid.lookback = Duration::hours(48);
        let now = at(10, 17, 31) + Duration::milliseconds(250);
        let start = grid.first_start(now);
        assert!(start >= now - Duration::hours(48), "{start}");
        assert_eq!(start, at(10, 19, 32) - Duration::hours(48));
        let plan = grid.plan(None, now);
        assert_eq!(plan.lost, None);
        // A partial first window up to the grid, then whole grid windows.
        assert_eq!(
            plan.windows[0],
            Window::new(start, at(11, 0, 0) - Duration::hours(48))
        );
        assert!(plan.windows[1..]
            .iter()
            .all(|w| w.start.timestamp() % 3600 == 0));
        // The next run, a schedule period later, from the first run's cursor: nothing reported lost.
        let next = now + Duration::minutes(5);
        assert_eq!(
            grid.plan(Some(plan.windows.last().unwrap().end), next).lost,
            None
        );
        // A cursor just inside the edge is fetched from, not reported lost.
        let edge = grid.plan(Some(now - Duration::hours(48) + Duration::seconds(30)), now);
        assert_eq!(edge.lost, None);
        // A first start remembered from a failed run that has expired since: that part was reachable, and lost.
        let later = grid.plan_from_first_start(start, now + Duration::hours(1));
        assert_eq!(later.lost.map(|w| w.start), Some(start));
        assert!(later.windows[0].start >= now + Duration::hours(1) - Duration::hours(48));
    }

    #[test]
    fn a_span_is_cut_to_its_ends() {
        let w = span(at(9, 40, 0), at(11, 5, 0), Duration::hours(1));
        assert_eq!(
            w,
            [
                Window::new(at(9, 40, 0), at(10, 0, 0)),
                Window::new(at(10, 0, 0), at(11, 0, 0)),
                Window::new(at(11, 0, 0), at(11, 5, 0)),
            ]
        );
        assert!(span(at(10, 0, 0), at(10, 0, 0), Duration::hours(1)).is_empty());
    }

    #[test]
    fn halves_split_on_whole_seconds_down_to_a_minimum() {
        let w = Window::new(at(10, 0, 0), at(10, 0, 5));
        let (a, b) = w.halves(Duration::seconds(1)).unwrap();
        assert_eq!(
            (a.end, b.start, b.end),
            (at(10, 0, 2), at(10, 0, 2), at(10, 0, 5))
        );
        assert!(w.halves(Duration::seconds(3)).is_none());
        assert!(Window::new(at(10, 0, 0), at(10, 0, 1))
            .halves(Duration::seconds(1))
            .is_none());
    }

    #[test]
    fn tags_and_parameters_have_no_separators_keys_dislike() {
        let w = Window::new(at(10, 0, 0), at(10, 5, 0));
        assert_eq!(w.tag(), "20261121T100000Z-20261121T100500Z");
        assert_eq!(param(w.start), "20261121100000");
        assert_eq!(rfc3339(w.end), "2026-11-21T10:05:00Z");
    }
}
