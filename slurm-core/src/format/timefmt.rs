//! Slurm's time and duration spellings.
//!
//! * [`elapsed`]: squeue's `M:SS` / `H:MM:SS` / `D-HH:MM:SS` (`_print_secs`), `INVALID` when
//!   negative or over a year;
//! * [`elapsed_unchecked`]: the same without the year check (sinfo's `_print_secs`);
//! * [`hms`]: scontrol's `HH:MM:SS` / `D-HH:MM:SS` (`secs2time_str`);
//! * [`iso`]: `2024-05-01T10:00:00` in local time (`slurm_make_time_str`'s default);
//! * [`ctime`]: `Wed Nov 25 12:44:28 2026` (the date line of `-l` outputs).

use crate::model::calendar::civil_from_days;
use crate::model::{TimeLimit, Timestamp};

const MINUTE: i64 = 60;
const HOUR: i64 = 60 * MINUTE;
const DAY: i64 = 24 * HOUR;
/// Slurm's `YEAR_SECONDS`: durations above it print as `INVALID` in squeue.
const YEAR: i64 = 365 * DAY;

const WEEKDAYS: [&str; 7] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// squeue's elapsed/limit spelling: `0:34`, `1:00:00`, `365-00:00:00`, `INVALID`.
pub fn elapsed(secs: i64) -> String {
    if !(0..=YEAR).contains(&secs) {
        return "INVALID".to_owned();
    }
    elapsed_unchecked(secs)
}

/// sinfo's spelling (no year limit; negative values are clamped to 0).
pub fn elapsed_unchecked(secs: i64) -> String {
    let secs = secs.max(0);
    let (d, h, m, s) = split(secs);
    if d > 0 {
        format!("{d}-{h:02}:{m:02}:{s:02}")
    } else if h > 0 {
        format!("{h}:{m:02}:{s:02}")
    } else {
        format!("{m}:{s:02}")
    }
}

/// scontrol's `secs2time_str`: `00:00:34`, `01:00:00`, `7-00:00:00`; `INVALID` when negative.
pub fn hms(secs: i64) -> String {
    if secs < 0 {
        return "INVALID".to_owned();
    }
    let (d, h, m, s) = split(secs);
    if d > 0 {
        format!("{d}-{h:02}:{m:02}:{s:02}")
    } else {
        format!("{h:02}:{m:02}:{s:02}")
    }
}

/// A time limit the scontrol way: `UNLIMITED` or [`hms`].
pub fn limit_hms(limit: TimeLimit) -> String {
    match limit {
        TimeLimit::Infinite => "UNLIMITED".to_owned(),
        TimeLimit::Seconds(s) => hms(i64::try_from(s).unwrap_or(i64::MAX)),
    }
}

fn split(secs: i64) -> (i64, i64, i64, i64) {
    (
        secs / DAY,
        (secs % DAY) / HOUR,
        (secs % HOUR) / MINUTE,
        secs % MINUTE,
    )
}

/// Broken-down local time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Civil {
    year: i64,
    month: u32,
    day: u32,
    hour: i64,
    minute: i64,
    second: i64,
    weekday: usize,
}

fn civil(ts: Timestamp, tz_offset_secs: i32) -> Civil {
    let local = ts.saturating_add(i64::from(tz_offset_secs));
    let days = local.div_euclid(DAY);
    let rem = local.rem_euclid(DAY);
    let (year, month, day) = civil_from_days(days);
    Civil {
        year,
        month,
        day,
        hour: rem / HOUR,
        minute: (rem % HOUR) / MINUTE,
        second: rem % MINUTE,
        // 1970-01-01 was a Thursday.
        weekday: usize::try_from((days + 4).rem_euclid(7)).unwrap_or(0),
    }
}

/// `2026-11-25T12:44:28` in the given time zone.
pub fn iso(ts: Timestamp, tz_offset_secs: i32) -> String {
    let c = civil(ts, tz_offset_secs);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
        c.year, c.month, c.day, c.hour, c.minute, c.second
    )
}

/// `slurm_make_time_str`: [`iso`], or `Unknown` for an unset time.
pub fn iso_or_unknown(ts: Option<Timestamp>, tz_offset_secs: i32) -> String {
    match ts {
        Some(t) if t != 0 => iso(t, tz_offset_secs),
        _ => "Unknown".to_owned(),
    }
}

/// squeue's `_print_time`: [`iso`], or `N/A` for an unset time.
pub fn iso_or_na(ts: Option<Timestamp>, tz_offset_secs: i32) -> String {
    match ts {
        Some(t) if t != 0 => iso(t, tz_offset_secs),
        _ => "N/A".to_owned(),
    }
}

/// C's `ctime` without the newline: `Wed Nov 25 12:44:28 2026` (day padded to two columns).
pub fn ctime(ts: Timestamp, tz_offset_secs: i32) -> String {
    let c = civil(ts, tz_offset_secs);
    let month = MONTHS
        .get(usize::try_from(c.month).unwrap_or(1).saturating_sub(1))
        .copied()
        .unwrap_or("???");
    let weekday = WEEKDAYS.get(c.weekday).copied().unwrap_or("???");
    format!(
        "{weekday} {month} {:2} {:02}:{:02}:{:02} {}",
        c.day, c.hour, c.minute, c.second, c.year
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2026-11-25T12:44:28Z, the moment the golden samples were taken.
    const NOW: Timestamp = 1_795_610_668;

    #[test]
    fn durations() {
        assert_eq!(elapsed(34), "0:34");
        assert_eq!(elapsed(3600), "1:00:00");
        assert_eq!(elapsed(YEAR), "365-00:00:00");
        assert_eq!(elapsed(YEAR + 1), "INVALID");
        assert_eq!(elapsed(-1), "INVALID");
        assert_eq!(elapsed_unchecked(400 * DAY), "400-00:00:00");
        assert_eq!(hms(34), "00:00:34");
        assert_eq!(hms(7 * DAY), "7-00:00:00");
        assert_eq!(limit_hms(TimeLimit::Infinite), "UNLIMITED");
        assert_eq!(limit_hms(TimeLimit::minutes(60)), "01:00:00");
    }

    #[test]
    fn dates() {
        assert_eq!(iso(NOW, 0), "2026-11-25T12:44:28");
        assert_eq!(iso(NOW, 3600), "2026-11-25T13:44:28");
        assert_eq!(iso(0, 0), "1970-01-01T00:00:00");
        assert_eq!(iso(-1, 0), "1969-12-31T23:59:59");
        assert_eq!(iso(951_782_400, 0), "2000-02-29T00:00:00");
        assert_eq!(iso_or_unknown(None, 0), "Unknown");
        assert_eq!(iso_or_na(Some(0), 0), "N/A");
        assert_eq!(ctime(NOW, 0), "Wed Nov 25 12:44:28 2026");
        assert_eq!(ctime(0, 0), "Thu Jan  1 00:00:00 1970");
    }

    #[test]
    fn extreme_timestamps_do_not_panic() {
        for ts in [i64::MIN, i64::MAX, i64::MIN + 1] {
            let _ = iso(ts, i32::MAX);
            let _ = ctime(ts, i32::MIN);
        }
    }
}
