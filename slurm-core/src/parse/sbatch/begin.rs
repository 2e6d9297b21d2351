//! `--begin` times, following Slurm's `parse_time`: `now+1hour`, `16:00`, `2026-12-01T10:30`,
//! `midnight`, `teatime`, `tomorrow`, ...

use crate::model::Timestamp;
use crate::model::calendar::{civil_from_days, days_from_civil, days_in_month};
use crate::parse::ParseError;

const MINUTE: i64 = 60;
const HOUR: i64 = 60 * MINUTE;
const DAY: i64 = 24 * HOUR;

/// Units accepted after `now+COUNT`, longest spelling first so that `hours` is not read as
/// `hour` followed by `s`.
const UNITS: &[(&str, i64)] = &[
    ("seconds", 1),
    ("second", 1),
    ("minutes", MINUTE),
    ("minute", MINUTE),
    ("hours", HOUR),
    ("hour", HOUR),
    ("days", DAY),
    ("day", DAY),
    ("weeks", 7 * DAY),
    ("week", 7 * DAY),
];

/// Named times of day: `(name, hour)`.
const NAMED_TIMES: &[(&str, u32)] = &[
    ("midnight", 0),
    ("noon", 12),
    ("elevenses", 11),
    ("fika", 15),
    ("teatime", 16),
];

/// Parses a `--begin` time into a timestamp, relative to `now` in a zone `tz_offset_secs`
/// east of UTC (fixed offset: no daylight-saving rules).
///
/// Accepted, as in Slurm (keywords in any case, tokens may be combined, e.g. `tomorrow 10:00`):
/// - `now`, `now+N` / `now-N` with an optional unit `seconds` (default), `minutes`, `hours`,
///   `days`, `weeks` (singular too): `now+60`, `now+1hour`;
/// - `HH:MM[:SS] [AM|PM]`: the next such time (today, or tomorrow when it has passed);
/// - `midnight`, `noon`, `elevenses` (11:00), `fika` (15:00), `teatime` (16:00): likewise;
/// - `today`, `tomorrow`: that day at 00:00 unless a time is given;
/// - `YYYY-MM-DD[THH:MM[:SS]]`, `MMDD[YY]`, `MM/DD[/YY]`, `MM.DD[.YY]`, with an optional
///   `-HH:MM[:SS]`; a date without a year is the next such date;
/// - `uts<SECONDS>`: an absolute Unix time (at least 1000000).
pub fn parse_begin(s: &str, now: Timestamp, tz_offset_secs: i32) -> Result<Timestamp, ParseError> {
    if s.is_empty() {
        return Err(ParseError::at(1, "empty time specification"));
    }
    if let Some(ts) = parse_uts(s)? {
        return Ok(ts);
    }
    let clock = Clock {
        now,
        tz: i64::from(tz_offset_secs),
    };
    let fields = Scanner::new(s, clock).scan()?;
    resolve(s, fields, clock)
}

/// The injected "now" and time zone.
#[derive(Debug, Clone, Copy)]
struct Clock {
    now: Timestamp,
    tz: i64,
}

impl Clock {
    fn local(self, ts: Timestamp) -> Civil {
        Civil::from_local_seconds(ts + self.tz)
    }
}

/// A broken-down local date and time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Civil {
    year: i64,
    month: u32,
    day: u32,
    hour: u32,
    minute: u32,
    second: u32,
}

impl Civil {
    fn from_local_seconds(secs: i64) -> Self {
        let (days, rest) = (secs.div_euclid(DAY), secs.rem_euclid(DAY));
        let (year, month, day) = civil_from_days(days);
        // `rest` is in 0..86400, so these fit.
        let rest = u32::try_from(rest).unwrap_or(0);
        Self {
            year,
            month,
            day,
            hour: rest / 3600,
            minute: rest / 60 % 60,
            second: rest % 60,
        }
    }
}

/// What the tokens of a time specification set.
#[derive(Debug, Clone, Copy, Default)]
struct Fields {
    /// `(hour, minute, second)`.
    time: Option<(u32, u32, u32)>,
    /// `(year, month, day)`; the year is `None` for `MM/DD`.
    date: Option<(Option<i64>, u32, u32)>,
}

/// A cursor over the specification, one token at a time (Slurm's `parse_time` loop).
struct Scanner<'a> {
    text: &'a str,
    chars: Vec<char>,
    pos: usize,
    clock: Clock,
    fields: Fields,
}

impl<'a> Scanner<'a> {
    fn new(text: &'a str, clock: Clock) -> Self {
        Self {
            text,
            chars: text.chars().collect(),
            pos: 0,
            clock,
            fields: Fields::default(),
        }
    }

    fn scan(mut self) -> Result<Fields, ParseError> {
        while let Some(c) = self.peek(0) {
            if self.keyword() {
                continue;
            } else if c == ' ' || c == '\t' || c == '-' || c == 'T' {
                self.pos += 1;
            } else if self.eat_word("now") {
                self.now()?;
            } else if c.is_ascii_digit() {
                if self.peek(1) == Some(':') || self.peek(2) == Some(':') {
                    self.fields.time = Some(self.time_of_day()?);
                } else {
                    self.fields.date = Some(self.date()?);
                }
            } else {
                return Err(self.error(self.pos, &format!("unexpected {c:?}")));
            }
        }
        Ok(self.fields)
    }

    /// `today`, `tomorrow` and the named times of day.
    fn keyword(&mut self) -> bool {
        let local_now = self.clock.local(self.clock.now);
        if self.eat_word("today") {
            self.fields.date = Some((Some(local_now.year), local_now.month, local_now.day));
            return true;
        }
        if self.eat_word("tomorrow") {
            let later = self.clock.local(self.clock.now + DAY);
            self.fields.date = Some((Some(later.year), later.month, later.day));
            return true;
        }
        for &(name, hour) in NAMED_TIMES {
            if self.eat_word(name) {
                self.fields.time = Some((hour, 0, 0));
                return true;
            }
        }
        false
    }

    /// After `now`: an optional `+N[unit]` / `-N[unit]` offset.
    fn now(&mut self) -> Result<(), ParseError> {
        self.skip_blanks();
        let delta = match self.peek(0) {
            None => 0,
            Some(sign @ ('+' | '-')) => {
                self.pos += 1;
                let delta = self.delta()?;
                if sign == '-' { -delta } else { delta }
            }
            Some(c) => return Err(self.error(self.pos, &format!("unexpected {c:?} after now"))),
        };
        let at = self.clock.local(self.clock.now.saturating_add(delta));
        self.fields.date = Some((Some(at.year), at.month, at.day));
        self.fields.time = Some((at.hour, at.minute, at.second));
        Ok(())
    }

    /// `COUNT[unit]` after `now+`: seconds unless a unit follows.
    fn delta(&mut self) -> Result<i64, ParseError> {
        let start = self.pos;
        self.skip_blanks();
        let count = self.number(start)?;
        self.skip_blanks();
        let unit = UNITS.iter().find(|(name, _)| self.eat_word(name));
        let multiplier = unit.map_or(1, |&(_, m)| m);
        count
            .checked_mul(multiplier)
            .ok_or_else(|| self.error(start, "offset out of range"))
    }

    /// A run of digits as a number.
    fn number(&mut self, start: usize) -> Result<i64, ParseError> {
        let mut value: i64 = 0;
        let mut digits = 0;
        while let Some(d) = self.peek(0).and_then(|c| c.to_digit(10)) {
            value = value
                .checked_mul(10)
                .and_then(|v| v.checked_add(i64::from(d)))
                .ok_or_else(|| self.error(start, "number out of range"))?;
            digits += 1;
            self.pos += 1;
        }
        if digits == 0 {
            return Err(self.error(self.pos, "expected a number"));
        }
        Ok(value)
    }

    /// `H:MM[:SS] [AM|PM]`.
    fn time_of_day(&mut self) -> Result<(u32, u32, u32), ParseError> {
        let start = self.pos;
        let mut hour = self.digits(1, 2)?;
        self.expect(':')?;
        let minute = self.digits(2, 2)?;
        let second = if self.peek(0) == Some(':') {
            self.pos += 1;
            self.digits(2, 2)?
        } else {
            0
        };
        if hour > 23 || minute > 59 || second > 59 {
            return Err(self.error(start, "time of day out of range"));
        }
        let save = self.pos;
        self.skip_blanks();
        if self.eat_word("pm") {
            hour = match hour {
                12 => 12,
                h if h < 12 => h + 12,
                _ => return Err(self.error(start, "PM with an hour above 12")),
            };
        } else if self.eat_word("am") {
            hour = match hour {
                12 => 0,
                h if h < 12 => h,
                _ => return Err(self.error(start, "AM with an hour above 12")),
            };
        } else {
            self.pos = save;
        }
        Ok((hour, minute, second))
    }

    /// `YYYY-MM-DD`, or `MMDD[YY]` / `MM/DD[/YY]` / `MM.DD[.YY]`.
    fn date(&mut self) -> Result<(Option<i64>, u32, u32), ParseError> {
        let start = self.pos;
        if self.peek(4) == Some('-') && self.peek(7) == Some('-') {
            let year = i64::from(self.digits(4, 4)?);
            self.expect('-')?;
            let month = self.digits(2, 2)?;
            self.expect('-')?;
            let day = self.digits(1, 2)?;
            return self.checked_date(start, Some(year), month, day);
        }
        let month = self.digits(1, 2)?;
        self.eat_separator();
        let day = self.digits(1, 2)?;
        self.eat_separator();
        let year = if self.peek(0).is_some_and(|c| c.is_ascii_digit()) {
            Some(2000 + i64::from(self.digits(2, 2)?))
        } else {
            None
        };
        self.checked_date(start, year, month, day)
    }

    fn checked_date(
        &self,
        start: usize,
        year: Option<i64>,
        month: u32,
        day: u32,
    ) -> Result<(Option<i64>, u32, u32), ParseError> {
        if !(1..=12).contains(&month) || !(1..=31).contains(&day) {
            return Err(self.error(start, "month or day out of range"));
        }
        Ok((year, month, day))
    }

    fn eat_separator(&mut self) {
        if matches!(self.peek(0), Some('.' | '/')) {
            self.pos += 1;
        }
    }

    /// Between `min` and `max` ASCII digits as a number (greedy up to `max`).
    fn digits(&mut self, min: usize, max: usize) -> Result<u32, ParseError> {
        let start = self.pos;
        let mut value = 0;
        while self.pos - start < max {
            match self.peek(0).and_then(|c| c.to_digit(10)) {
                Some(d) => {
                    value = value * 10 + d;
                    self.pos += 1;
                }
                None => break,
            }
        }
        if self.pos - start < min {
            return Err(self.error(self.pos, &format!("expected {min} digit(s)")));
        }
        Ok(value)
    }

    fn expect(&mut self, c: char) -> Result<(), ParseError> {
        if self.peek(0) == Some(c) {
            self.pos += 1;
            Ok(())
        } else {
            Err(self.error(self.pos, &format!("expected {c:?}")))
        }
    }

    /// Consumes `word` (ASCII, any case) when the input continues with it.
    fn eat_word(&mut self, word: &str) -> bool {
        let len = word.len();
        let matches = self.chars.len() >= self.pos + len
            && self.chars[self.pos..self.pos + len]
                .iter()
                .zip(word.chars())
                .all(|(a, b)| a.eq_ignore_ascii_case(&b));
        if matches {
            self.pos += len;
        }
        matches
    }

    fn skip_blanks(&mut self) {
        while matches!(self.peek(0), Some(' ' | '\t')) {
            self.pos += 1;
        }
    }

    fn peek(&self, ahead: usize) -> Option<char> {
        self.chars.get(self.pos + ahead).copied()
    }

    fn error(&self, pos: usize, why: &str) -> ParseError {
        invalid(self.text, pos + 1, why)
    }
}

/// Fills in what the specification left out (Slurm's rules) and converts to a timestamp.
fn resolve(text: &str, fields: Fields, clock: Clock) -> Result<Timestamp, ParseError> {
    let now = clock.local(clock.now);
    let (year, month, day, time) = match (fields.date, fields.time) {
        (None, None) => return Err(invalid(text, 1, "no date or time given")),
        (Some((year, month, day)), time) => (year, month, day, time.unwrap_or((0, 0, 0))),
        (None, Some(time)) => {
            let later_today = (time.0, time.1) > (now.hour, now.minute);
            let day = if later_today {
                now
            } else {
                clock.local(clock.now + DAY)
            };
            (Some(day.year), day.month, day.day, time)
        }
    };
    let year = year.unwrap_or_else(|| {
        let later_this_year =
            (month, day, time.0, time.1) > (now.month, now.day, now.hour, now.minute);
        if later_this_year {
            now.year
        } else {
            now.year + 1
        }
    });
    if day > days_in_month(year, month) {
        return Err(invalid(
            text,
            1,
            &format!("{year:04}-{month:02}-{day:02} is not a date"),
        ));
    }
    let (hour, minute, second) = time;
    let local = days_from_civil(year, month, day) * DAY
        + i64::from(hour) * HOUR
        + i64::from(minute) * MINUTE
        + i64::from(second);
    Ok(local - clock.tz)
}

/// `uts<SECONDS>`; `None` when the string is not of that form.
fn parse_uts(s: &str) -> Result<Option<Timestamp>, ParseError> {
    let Some(prefix) = s.get(..3) else {
        return Ok(None);
    };
    if !prefix.eq_ignore_ascii_case("uts") {
        return Ok(None);
    }
    match s[3..].parse::<Timestamp>() {
        Ok(ts) if ts >= 1_000_000 => Ok(Some(ts)),
        _ => Err(invalid(s, 4, "uts needs a Unix time of at least 1000000")),
    }
}

fn invalid(whole: &str, col: usize, why: &str) -> ParseError {
    ParseError::at(col, format!("invalid time specification {whole:?}: {why}"))
}

/// `YYYY-MM-DDTHH:MM:SS` of `ts` in a zone `tz_offset_secs` east of UTC (for property tests).
#[cfg(test)]
pub(super) fn format_local(ts: Timestamp, tz_offset_secs: i32) -> String {
    let c = Civil::from_local_seconds(ts + i64::from(tz_offset_secs));
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
        c.year, c.month, c.day, c.hour, c.minute, c.second
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2026-03-14 09:26:53 UTC (a Saturday).
    const NOW: Timestamp = 1_773_480_413;

    fn at(year: i64, month: u32, day: u32, h: i64, m: i64, s: i64) -> Timestamp {
        days_from_civil(year, month, day) * DAY + h * HOUR + m * MINUTE + s
    }

    fn begin(s: &str) -> Timestamp {
        parse_begin(s, NOW, 0).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    #[test]
    fn the_fixture_is_what_it_says() {
        assert_eq!(NOW, at(2026, 3, 14, 9, 26, 53));
        assert_eq!(Civil::from_local_seconds(NOW).day, 14);
    }

    #[test]
    fn now_and_offsets() {
        assert_eq!(begin("now"), NOW);
        assert_eq!(begin("now+60"), NOW + 60);
        assert_eq!(begin("now+1hour"), NOW + HOUR);
        assert_eq!(begin("now+2hours"), NOW + 2 * HOUR);
        assert_eq!(begin("now+10minutes"), NOW + 10 * MINUTE);
        assert_eq!(begin("NOW+3days"), NOW + 3 * DAY);
        assert_eq!(begin("now+1week"), NOW + 7 * DAY);
        assert_eq!(begin("now + 30 seconds"), NOW + 30);
        assert_eq!(begin("now-5minutes"), NOW - 5 * MINUTE);
    }

    #[test]
    fn times_of_day_pick_the_next_occurrence() {
        assert_eq!(begin("16:00"), at(2026, 3, 14, 16, 0, 0));
        assert_eq!(begin("08:00"), at(2026, 3, 15, 8, 0, 0));
        assert_eq!(
            begin("9:26"),
            at(2026, 3, 15, 9, 26, 0),
            "the current minute has passed"
        );
        assert_eq!(begin("9:27:30"), at(2026, 3, 14, 9, 27, 30));
        assert_eq!(begin("4:30pm"), at(2026, 3, 14, 16, 30, 0));
        assert_eq!(begin("12:00 AM"), at(2026, 3, 15, 0, 0, 0));
        assert_eq!(begin("12:15PM"), at(2026, 3, 14, 12, 15, 0));
    }

    #[test]
    fn named_times() {
        assert_eq!(begin("midnight"), at(2026, 3, 15, 0, 0, 0));
        assert_eq!(begin("noon"), at(2026, 3, 14, 12, 0, 0));
        assert_eq!(begin("teatime"), at(2026, 3, 14, 16, 0, 0));
        assert_eq!(begin("fika"), at(2026, 3, 14, 15, 0, 0));
        assert_eq!(begin("elevenses"), at(2026, 3, 14, 11, 0, 0));
        assert_eq!(begin("today"), at(2026, 3, 14, 0, 0, 0));
        assert_eq!(begin("tomorrow"), at(2026, 3, 15, 0, 0, 0));
        assert_eq!(begin("tomorrow 10:00"), at(2026, 3, 15, 10, 0, 0));
        assert_eq!(begin("Tomorrow-teatime"), at(2026, 3, 15, 16, 0, 0));
    }

    #[test]
    fn dates() {
        assert_eq!(begin("2026-12-01"), at(2026, 12, 1, 0, 0, 0));
        assert_eq!(begin("2026-12-01T10:30"), at(2026, 12, 1, 10, 30, 0));
        assert_eq!(begin("2026-12-01T10:30:15"), at(2026, 12, 1, 10, 30, 15));
        assert_eq!(
            begin("2025-01-01"),
            at(2025, 1, 1, 0, 0, 0),
            "past dates are kept"
        );
        assert_eq!(begin("12/25"), at(2026, 12, 25, 0, 0, 0));
        assert_eq!(
            begin("01/02"),
            at(2027, 1, 2, 0, 0, 0),
            "passed this year: next year"
        );
        assert_eq!(begin("12.25.27"), at(2027, 12, 25, 0, 0, 0));
        assert_eq!(begin("122527"), at(2027, 12, 25, 0, 0, 0));
        assert_eq!(begin("12/25-13:45"), at(2026, 12, 25, 13, 45, 0));
        assert_eq!(begin("2028-02-29"), at(2028, 2, 29, 0, 0, 0));
    }

    #[test]
    fn uts() {
        assert_eq!(begin("uts1800000000"), 1_800_000_000);
        assert!(parse_begin("uts12", NOW, 0).is_err());
        assert!(parse_begin("utsx", NOW, 0).is_err());
    }

    #[test]
    fn time_zone_offset() {
        // KST (UTC+9): local now is 18:26:53 on the 14th.
        let kst = 9 * 3600;
        let local_midnight_utc = at(2026, 3, 15, 0, 0, 0) - i64::from(kst);
        assert_eq!(
            parse_begin("midnight", NOW, kst).unwrap(),
            local_midnight_utc
        );
        assert_eq!(
            parse_begin("16:00", NOW, kst).unwrap(),
            at(2026, 3, 15, 16, 0, 0) - i64::from(kst),
            "16:00 KST has passed"
        );
        assert_eq!(parse_begin("now+60", NOW, kst).unwrap(), NOW + 60);
        // UTC-5 at 04:26 local.
        assert_eq!(
            parse_begin("2026-12-01", NOW, -5 * 3600).unwrap(),
            at(2026, 12, 1, 5, 0, 0)
        );
    }

    #[test]
    fn errors_carry_columns() {
        let cases = [
            ("", 1),
            ("abc", 1),
            ("now+", 5),
            ("now+1fortnight", 6),
            ("now 5", 5),
            ("25:00", 1),
            ("10:61", 1),
            ("10:5", 5),
            ("13:00pm", 1),
            ("2026-13-01", 1),
            ("2026-02-30", 1),
            ("13/01", 1),
            ("now+99999999999999999999", 5),
        ];
        for (input, column) in cases {
            let err = parse_begin(input, NOW, 0).expect_err(input);
            assert_eq!(err.column, column, "{input:?}: {err}");
        }
    }
}
