//! The local time zone's offset from UTC at a given moment, as C's `localtime` finds it:
//! `TZ` (a zone name under `/usr/share/zoneinfo`, a file path, or a POSIX rule such as
//! `CET-1CEST,M3.5.0,M10.5.0/3`), else `/etc/localtime`; UTC when nothing can be read.
//!
//! The parsers ([`offset_from_tzif`], [`offset_from_posix`]) are pure and never panic on bad
//! input: they return `None`.

use crate::model::Timestamp;
use crate::model::calendar::{civil_from_days, days_from_civil, is_leap};

const ZONEINFO: &str = "/usr/share/zoneinfo";
const LOCALTIME: &str = "/etc/localtime";
const DAY: i64 = 86_400;

/// Seconds east of UTC of the local time zone at `at`.
pub fn local_offset(at: Timestamp) -> i32 {
    match std::env::var("TZ") {
        Ok(tz) => offset_for_tz_var(&tz, at),
        Err(_) => std::fs::read(LOCALTIME)
            .ok()
            .and_then(|data| offset_from_tzif(&data, at))
            .unwrap_or(0),
    }
}

/// The offset for a `TZ` value: a file (`:Europe/Paris`, `/etc/localtime`, `Asia/Seoul`),
/// else a POSIX rule, else UTC.
fn offset_for_tz_var(tz: &str, at: Timestamp) -> i32 {
    let name = tz.strip_prefix(':').unwrap_or(tz);
    if name.is_empty() {
        return 0;
    }
    let path = if name.starts_with('/') {
        std::path::PathBuf::from(name)
    } else if name.split('/').any(|part| part == "..") {
        return offset_from_posix(name, at).unwrap_or(0);
    } else {
        std::path::Path::new(ZONEINFO).join(name)
    };
    if let Some(offset) = std::fs::read(path)
        .ok()
        .and_then(|data| offset_from_tzif(&data, at))
    {
        return offset;
    }
    offset_from_posix(name, at).unwrap_or(0)
}

/// Reads a TZif file (RFC 8536, versions 1 to 4) and returns the UTC offset in force at `at`.
pub fn offset_from_tzif(data: &[u8], at: Timestamp) -> Option<i32> {
    let v1 = Header::read(data)?;
    if data[4] == 0 {
        return v1.offset_at(data, 4, at, None);
    }
    // Version 2+: skip the 32-bit block; the 64-bit block and the footer follow.
    let start = v1.end(4);
    let v2 = Header::read(data.get(start..)?)?;
    let body = data.get(start..)?;
    let footer_start = v2.end(8);
    let footer = body
        .get(footer_start..)
        .and_then(|f| f.strip_prefix(b"\n"))
        .and_then(|f| f.split(|&b| b == b'\n').next())
        .and_then(|f| std::str::from_utf8(f).ok())
        .filter(|f| !f.is_empty());
    v2.offset_at(body, 8, at, footer)
}

/// The counts of a TZif header.
#[derive(Debug, Clone, Copy)]
struct Header {
    isutcnt: usize,
    isstdcnt: usize,
    leapcnt: usize,
    timecnt: usize,
    typecnt: usize,
    charcnt: usize,
}

const HEADER_LEN: usize = 44;

impl Header {
    fn read(data: &[u8]) -> Option<Self> {
        if data.len() < HEADER_LEN || &data[..4] != b"TZif" {
            return None;
        }
        let count = |i: usize| -> Option<usize> {
            let b = data.get(20 + 4 * i..24 + 4 * i)?;
            usize::try_from(u32::from_be_bytes([b[0], b[1], b[2], b[3]])).ok()
        };
        Some(Self {
            isutcnt: count(0)?,
            isstdcnt: count(1)?,
            leapcnt: count(2)?,
            timecnt: count(3)?,
            typecnt: count(4)?,
            charcnt: count(5)?,
        })
    }

    /// The offset just past this block (header + data), with `time_size`-byte times.
    fn end(&self, time_size: usize) -> usize {
        HEADER_LEN
            + self.timecnt * time_size
            + self.timecnt
            + self.typecnt * 6
            + self.charcnt
            + self.leapcnt * (time_size + 4)
            + self.isstdcnt
            + self.isutcnt
    }

    fn offset_at(
        &self,
        block: &[u8],
        time_size: usize,
        at: Timestamp,
        footer: Option<&str>,
    ) -> Option<i32> {
        if self.typecnt == 0 {
            return None;
        }
        let times = HEADER_LEN;
        let indices = times + self.timecnt * time_size;
        let types = indices + self.timecnt;
        let time = |i: usize| -> Option<i64> {
            let b = block.get(times + i * time_size..times + (i + 1) * time_size)?;
            Some(if time_size == 8 {
                i64::from_be_bytes(b.try_into().ok()?)
            } else {
                i64::from(i32::from_be_bytes(b.try_into().ok()?))
            })
        };
        let utoff = |t: usize| -> Option<i32> {
            let b = block.get(types + t * 6..types + t * 6 + 4)?;
            Some(i32::from_be_bytes(b.try_into().ok()?))
        };
        // The last transition at or before `at`.
        let mut last = None;
        for i in 0..self.timecnt {
            if time(i)? <= at {
                last = Some(i);
            } else {
                break;
            }
        }
        match last {
            Some(i) if i + 1 == self.timecnt => {
                if let Some(offset) = footer.and_then(|f| offset_from_posix(f, at)) {
                    return Some(offset);
                }
                utoff(usize::from(*block.get(indices + i)?))
            }
            Some(i) => utoff(usize::from(*block.get(indices + i)?)),
            None if self.timecnt == 0 => footer
                .and_then(|f| offset_from_posix(f, at))
                .or_else(|| utoff(0)),
            None => utoff(0),
        }
    }
}

/// Evaluates a POSIX `TZ` rule (`UTC0`, `EST5EDT`, `<+09>-9`,
/// `CET-1CEST,M3.5.0,M10.5.0/3`) at `at`. `None` when the rule does not parse.
pub fn offset_from_posix(spec: &str, at: Timestamp) -> Option<i32> {
    let mut p = Cursor {
        s: spec.as_bytes(),
        i: 0,
    };
    p.name()?;
    let std_offset = -p.offset()?;
    if p.done() {
        return Some(std_offset);
    }
    p.name()?;
    let dst_offset = if p.peek().is_some_and(|c| c != b',') {
        -p.offset()?
    } else {
        std_offset + 3600
    };
    let (start, end) = if p.done() {
        // No rule: the US rules POSIX implementations default to.
        (Rule::Month(3, 2, 0, 7200), Rule::Month(11, 1, 0, 7200))
    } else {
        p.expect(b',')?;
        let start = p.rule()?;
        p.expect(b',')?;
        let end = p.rule()?;
        if !p.done() {
            return None;
        }
        (start, end)
    };
    let local_std = at.checked_add(i64::from(std_offset))?;
    let year = year_of(local_std);
    let starts = start.at(year)?.checked_sub(i64::from(std_offset))?;
    let ends = end.at(year)?.checked_sub(i64::from(dst_offset))?;
    let in_dst = if starts < ends {
        starts <= at && at < ends
    } else {
        !(ends <= at && at < starts)
    };
    Some(if in_dst { dst_offset } else { std_offset })
}

/// When a DST change happens in a year: `Mm.w.d` (day `d` of week `w` of month `m`, week 5
/// meaning the last), `Jn` (day 1-365, no leap day) or `n` (day 0-365), plus the local time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Rule {
    Month(u32, u32, u32, i64),
    Julian1(u32, i64),
    Julian0(u32, i64),
}

impl Rule {
    /// Local wall-clock seconds (as if UTC) of the change in `year`.
    fn at(self, year: i64) -> Option<i64> {
        let jan1 = days_from_civil(year, 1, 1);
        let (day, time) = match self {
            Self::Julian0(n, t) => (jan1 + i64::from(n), t),
            Self::Julian1(n, t) => {
                let leap_shift = i64::from(is_leap(year) && n >= 60);
                (jan1 + i64::from(n) - 1 + leap_shift, t)
            }
            Self::Month(m, w, d, t) => {
                let first = days_from_civil(year, m, 1);
                // 1970-01-01 was a Thursday (weekday 4).
                let first_wday = (first + 4).rem_euclid(7);
                let mut day = first + (i64::from(d) - first_wday).rem_euclid(7);
                day += 7 * (i64::from(w) - 1);
                let next_month = if m == 12 {
                    days_from_civil(year + 1, 1, 1)
                } else {
                    days_from_civil(year, m + 1, 1)
                };
                while day >= next_month {
                    day -= 7;
                }
                (day, t)
            }
        };
        day.checked_mul(DAY)?.checked_add(time)
    }
}

struct Cursor<'a> {
    s: &'a [u8],
    i: usize,
}

impl Cursor<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    fn done(&self) -> bool {
        self.i >= self.s.len()
    }

    fn expect(&mut self, c: u8) -> Option<()> {
        (self.peek()? == c).then(|| self.i += 1)
    }

    /// A zone abbreviation: 3+ letters, or `<...>`.
    fn name(&mut self) -> Option<()> {
        if self.peek()? == b'<' {
            let close = self.s[self.i..].iter().position(|&c| c == b'>')?;
            self.i += close + 1;
            return Some(());
        }
        let start = self.i;
        while self.peek().is_some_and(|c| c.is_ascii_alphabetic()) {
            self.i += 1;
        }
        (self.i - start >= 3).then_some(())
    }

    fn number(&mut self) -> Option<i64> {
        let start = self.i;
        while self.peek().is_some_and(|c| c.is_ascii_digit()) {
            self.i += 1;
        }
        std::str::from_utf8(&self.s[start..self.i])
            .ok()?
            .parse()
            .ok()
    }

    /// `[+-]hh[:mm[:ss]]` in seconds (positive west of Greenwich, as POSIX writes it).
    fn offset(&mut self) -> Option<i32> {
        let secs = self.signed_time()?;
        if secs.abs() > 25 * 3600 {
            return None;
        }
        i32::try_from(secs).ok()
    }

    fn signed_time(&mut self) -> Option<i64> {
        let sign = match self.peek()? {
            b'-' => {
                self.i += 1;
                -1
            }
            b'+' => {
                self.i += 1;
                1
            }
            _ => 1,
        };
        let mut secs = self.number()? * 3600;
        for unit in [60, 1] {
            if self.peek() != Some(b':') {
                break;
            }
            self.i += 1;
            secs += self.number()? * unit;
        }
        Some(sign * secs)
    }

    fn rule(&mut self) -> Option<Rule> {
        let rule = match self.peek()? {
            b'M' => {
                self.i += 1;
                let m = u32::try_from(self.number()?).ok()?;
                self.expect(b'.')?;
                let w = u32::try_from(self.number()?).ok()?;
                self.expect(b'.')?;
                let d = u32::try_from(self.number()?).ok()?;
                if !(1..=12).contains(&m) || !(1..=5).contains(&w) || d > 6 {
                    return None;
                }
                Rule::Month(m, w, d, 0)
            }
            b'J' => {
                self.i += 1;
                let n = u32::try_from(self.number()?).ok()?;
                if !(1..=365).contains(&n) {
                    return None;
                }
                Rule::Julian1(n, 0)
            }
            _ => {
                let n = u32::try_from(self.number()?).ok()?;
                if n > 365 {
                    return None;
                }
                Rule::Julian0(n, 0)
            }
        };
        let time = if self.peek() == Some(b'/') {
            self.i += 1;
            let t = self.signed_time()?;
            if t.abs() > 167 * 3600 {
                return None;
            }
            t
        } else {
            7200
        };
        Some(match rule {
            Rule::Month(m, w, d, _) => Rule::Month(m, w, d, time),
            Rule::Julian1(n, _) => Rule::Julian1(n, time),
            Rule::Julian0(n, _) => Rule::Julian0(n, time),
        })
    }
}

/// The civil year of a timestamp (seconds, as if UTC).
fn year_of(ts: i64) -> i64 {
    civil_from_days(ts.div_euclid(DAY)).0
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2026-01-15T12:00:00Z and 2026-07-15T12:00:00Z.
    const WINTER: Timestamp = 1_768_478_400;
    const SUMMER: Timestamp = 1_784_116_800;

    #[test]
    fn civil_dates() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        assert_eq!(year_of(0), 1970);
        assert_eq!(year_of(WINTER), 2026);
        assert_eq!(year_of(-1), 1969);
    }

    #[test]
    fn fixed_offsets() {
        assert_eq!(offset_from_posix("UTC0", SUMMER), Some(0));
        assert_eq!(offset_from_posix("KST-9", SUMMER), Some(9 * 3600));
        assert_eq!(offset_from_posix("<+0530>-5:30", WINTER), Some(19_800));
        assert_eq!(offset_from_posix("EST5", WINTER), Some(-5 * 3600));
    }

    #[test]
    fn daylight_saving_rules() {
        let cet = "CET-1CEST,M3.5.0,M10.5.0/3";
        assert_eq!(offset_from_posix(cet, WINTER), Some(3600));
        assert_eq!(offset_from_posix(cet, SUMMER), Some(7200));
        // Europe switched on 2026-03-29 at 01:00 UTC.
        let switch = 1_774_746_000;
        assert_eq!(offset_from_posix(cet, switch - 1), Some(3600));
        assert_eq!(offset_from_posix(cet, switch), Some(7200));
        // No rule: US defaults.
        assert_eq!(offset_from_posix("EST5EDT", SUMMER), Some(-4 * 3600));
        assert_eq!(offset_from_posix("EST5EDT", WINTER), Some(-5 * 3600));
        // Southern hemisphere: DST spans the new year.
        let aedt = "AEST-10AEDT,M10.1.0,M4.1.0/3";
        assert_eq!(offset_from_posix(aedt, WINTER), Some(11 * 3600));
        assert_eq!(offset_from_posix(aedt, SUMMER), Some(10 * 3600));
        assert_eq!(offset_from_posix("XXX0YYY,J60,300", SUMMER), Some(3600));
    }

    #[test]
    fn bad_rules_are_refused() {
        for bad in [
            "",
            "U",
            "UTC",
            "UTC+",
            "CET-1CEST,M13.1.0,M10.5.0",
            "CET-1CEST,M3",
            "<X",
        ] {
            assert_eq!(offset_from_posix(bad, WINTER), None, "{bad}");
        }
    }

    /// A version 2 TZif file: one transition at 1000 from type 0 (+3600) to type 1 (+7200),
    /// and a footer.
    fn tzif(footer: &str) -> Vec<u8> {
        /// A header and its data block; `transition` is the time in the version's width
        /// (32 bits in the first block, 64 in the second).
        fn block(v: &mut Vec<u8>, transition: &[u8]) {
            v.extend(b"TZif2");
            v.extend([0; 15]);
            for c in [0u32, 0, 0, 1, 2, 4] {
                v.extend(c.to_be_bytes());
            }
            v.extend(transition);
            v.push(1);
            v.extend(3600i32.to_be_bytes());
            v.extend([0, 0]);
            v.extend(7200i32.to_be_bytes());
            v.extend([1, 0]);
            v.extend(b"AB\0\0");
        }
        let mut v = Vec::new();
        block(&mut v, &1000i32.to_be_bytes());
        block(&mut v, &1000i64.to_be_bytes());
        v.push(b'\n');
        v.extend(footer.as_bytes());
        v.push(b'\n');
        v
    }

    #[test]
    fn tzif_transitions_and_footer() {
        let data = tzif("");
        assert_eq!(offset_from_tzif(&data, 999), Some(3600));
        assert_eq!(offset_from_tzif(&data, 1000), Some(7200));
        assert_eq!(offset_from_tzif(&data, SUMMER), Some(7200));
        let data = tzif("KST-9");
        assert_eq!(offset_from_tzif(&data, SUMMER), Some(9 * 3600));
        assert_eq!(offset_from_tzif(&data, 500), Some(3600));
    }

    #[test]
    fn broken_tzif_is_refused() {
        let data = tzif("");
        for len in 0..data.len() - 1 {
            let _ = offset_from_tzif(&data[..len], SUMMER);
        }
        assert_eq!(offset_from_tzif(b"nope", 0), None);
    }

    #[test]
    fn the_system_zone_is_readable_when_present() {
        if let Ok(data) = std::fs::read(LOCALTIME) {
            let offset = offset_from_tzif(&data, SUMMER);
            assert!(offset.is_some_and(|o| o.abs() <= 14 * 3600));
        }
    }
}
