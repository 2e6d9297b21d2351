//! Reader for the Standard Workload Format (SWF) of the Parallel Workloads Archive.
//!
//! A trace is a header of `;` comment lines (some of them `; Key: value` pairs such as
//! `; MaxProcs: 100`) and one line per job with 18 whitespace-separated numeric fields, `-1`
//! meaning unknown. The reader streams the input line by line and keeps only the fields the
//! simulator uses, in a compact [`SwfRecord`]. Gzipped files (`.swf.gz`) are recognised by
//! their magic bytes, whatever their name.

use std::fs::File;
use std::io::{self, BufRead, BufReader};
use std::path::Path;

/// Fields on every job line.
pub const FIELD_COUNT: usize = 18;

/// Names of the 18 SWF fields (1-based field `n` is `FIELD_NAMES[n - 1]`), for error messages.
pub const FIELD_NAMES: [&str; FIELD_COUNT] = [
    "job number",
    "submit time",
    "wait time",
    "run time",
    "allocated processors",
    "average CPU time",
    "used memory",
    "requested processors",
    "requested time",
    "requested memory",
    "status",
    "user id",
    "group id",
    "executable",
    "queue",
    "partition",
    "preceding job",
    "think time",
];

/// Why a trace could not be read.
#[derive(Debug, thiserror::Error)]
pub enum SwfError {
    #[error("cannot open {path}: {source}")]
    Open { path: String, source: io::Error },
    #[error("line {line}: read error: {source}")]
    Io { line: u64, source: io::Error },
    #[error("line {line}: expected {FIELD_COUNT} fields, found {found}")]
    FieldCount { line: u64, found: usize },
    #[error("line {line}: field {field} ({name}) is not a number: {value:?}")]
    NotNumeric {
        line: u64,
        field: usize,
        name: &'static str,
        value: String,
    },
}

/// The header fields the simulator uses (`; Key: value` comment lines).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SwfHeader {
    /// `; MaxProcs:`, when given and positive.
    pub max_procs: Option<u32>,
    /// `; MaxNodes:`, when given and positive.
    pub max_nodes: Option<u32>,
    /// `; UnixStartTime:` (the epoch time submit time 0 stands for).
    pub unix_start_time: Option<i64>,
    /// `; Computer:`.
    pub computer: Option<String>,
}

/// The fields of one job line the simulator uses; `-1` (or any negative value) = unknown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SwfRecord {
    /// 1-based line number in the file.
    pub line: u64,
    /// Field 1.
    pub job_id: i64,
    /// Field 2, seconds from the start of the log.
    pub submit: i64,
    /// Field 4, seconds.
    pub run_time: i64,
    /// Field 5.
    pub allocated_procs: i64,
    /// Field 8.
    pub requested_procs: i64,
    /// Field 9, seconds.
    pub requested_time: i64,
    /// Field 12.
    pub user: i64,
}

/// A whole trace: header and job records in file order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SwfTrace {
    pub header: SwfHeader,
    pub records: Vec<SwfRecord>,
}

/// Opens `path`, gunzipping it when it starts with the gzip magic bytes.
pub fn open(path: &Path) -> Result<Box<dyn BufRead>, SwfError> {
    let open_err = |source| SwfError::Open {
        path: path.display().to_string(),
        source,
    };
    let mut file = BufReader::with_capacity(1 << 16, File::open(path).map_err(open_err)?);
    let gzipped = file
        .fill_buf()
        .map_err(open_err)?
        .starts_with(&[0x1f, 0x8b]);
    if gzipped {
        let decoder = flate2::bufread::MultiGzDecoder::new(file);
        Ok(Box::new(BufReader::with_capacity(1 << 16, decoder)))
    } else {
        Ok(Box::new(file))
    }
}

/// Reads a trace from `path` (plain or gzipped). See [`read`] for `keep`.
pub fn read_path(path: &Path, keep: impl FnMut(&SwfRecord) -> bool) -> Result<SwfTrace, SwfError> {
    read(open(path)?, keep)
}

/// Reads a trace, streaming it line by line.
///
/// `keep` is called with every job record in file order: returning `false` stops reading
/// there (the record is still stored). The simulator uses it to stop once it has enough jobs.
pub fn read(
    mut reader: impl BufRead,
    mut keep: impl FnMut(&SwfRecord) -> bool,
) -> Result<SwfTrace, SwfError> {
    let mut trace = SwfTrace::default();
    let mut buf = Vec::with_capacity(256);
    let mut line_no = 0u64;
    loop {
        buf.clear();
        line_no += 1;
        let n = reader
            .read_until(b'\n', &mut buf)
            .map_err(|source| SwfError::Io {
                line: line_no,
                source,
            })?;
        if n == 0 {
            break;
        }
        let text = String::from_utf8_lossy(&buf);
        let text = text.trim();
        if text.is_empty() {
            continue;
        }
        if let Some(comment) = text.strip_prefix(';') {
            parse_header_line(comment, &mut trace.header);
            continue;
        }
        let record = parse_record(text, line_no)?;
        trace.records.push(record);
        if !keep(&record) {
            break;
        }
    }
    Ok(trace)
}

/// Records a `Key: value` comment in the header (other comments are ignored).
fn parse_header_line(comment: &str, header: &mut SwfHeader) {
    let Some((key, value)) = comment.split_once(':') else {
        return;
    };
    let value = value.trim();
    let positive = || {
        value
            .parse::<i64>()
            .ok()
            .filter(|v| *v > 0)
            .and_then(|v| u32::try_from(v).ok())
    };
    match key.trim() {
        "MaxProcs" => header.max_procs = positive(),
        "MaxNodes" => header.max_nodes = positive(),
        "UnixStartTime" => header.unix_start_time = value.parse().ok(),
        "Computer" => header.computer = Some(value.to_owned()),
        _ => {}
    }
}

/// Parses one job line (already trimmed, not a comment).
pub fn parse_record(text: &str, line: u64) -> Result<SwfRecord, SwfError> {
    let found = text.split_ascii_whitespace().count();
    if found != FIELD_COUNT {
        return Err(SwfError::FieldCount { line, found });
    }
    let mut fields = [0i64; FIELD_COUNT];
    for ((i, token), slot) in text.split_ascii_whitespace().enumerate().zip(&mut fields) {
        *slot = parse_number(token).ok_or_else(|| SwfError::NotNumeric {
            line,
            field: i + 1,
            name: FIELD_NAMES[i],
            value: token.to_owned(),
        })?;
    }
    Ok(SwfRecord {
        line,
        job_id: fields[0],
        submit: fields[1],
        run_time: fields[3],
        allocated_procs: fields[4],
        requested_procs: fields[7],
        requested_time: fields[8],
        user: fields[11],
    })
}

/// An SWF number: an integer, or a decimal (some logs have fractional CPU times), rounded.
fn parse_number(token: &str) -> Option<i64> {
    if let Ok(v) = token.parse::<i64>() {
        return Some(v);
    }
    let v = token.parse::<f64>().ok().filter(|v| v.is_finite())?;
    // Saturating float-to-int conversion; the fields are seconds and counts.
    Some(v.round() as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "\
; Version: 2.2
; Computer: Test box
; MaxNodes: 2
; MaxProcs: 16
;
    1   0  5  100  4  -1 -1  4  200 -1 1 7 1 -1 -1 -1 -1 -1

; a comment between jobs
    2  10 -1   50  8  12.5 -1 -1   -1 -1 1 8 1 -1 -1 -1 -1 -1
";

    fn read_str(s: &str) -> Result<SwfTrace, SwfError> {
        read(s.as_bytes(), |_| true)
    }

    #[test]
    fn header_and_records() {
        let t = read_str(SAMPLE).unwrap();
        assert_eq!(t.header.max_procs, Some(16));
        assert_eq!(t.header.max_nodes, Some(2));
        assert_eq!(t.header.computer.as_deref(), Some("Test box"));
        assert_eq!(t.records.len(), 2);
        let r = t.records[0];
        assert_eq!((r.line, r.job_id, r.submit, r.run_time), (6, 1, 0, 100));
        assert_eq!(
            (
                r.allocated_procs,
                r.requested_procs,
                r.requested_time,
                r.user
            ),
            (4, 4, 200, 7)
        );
        let r = t.records[1];
        assert_eq!(
            (r.line, r.requested_procs, r.requested_time),
            (9, -1, -1),
            "comments and blanks keep line numbers"
        );
    }

    #[test]
    fn missing_or_odd_header_values() {
        let t = read_str("; MaxProcs: -1\n; MaxNodes: lots\n;Note: x: y\n").unwrap();
        assert_eq!(t.header, SwfHeader::default());
        assert!(t.records.is_empty());
    }

    #[test]
    fn keep_stops_early() {
        let t = read(SAMPLE.as_bytes(), |_| false).unwrap();
        assert_eq!(t.records.len(), 1);
    }

    #[test]
    fn wrong_field_count_names_the_line() {
        let bad = "; MaxProcs: 4\n1 0 0 10 1\n";
        let err = read_str(bad).unwrap_err();
        assert!(
            matches!(err, SwfError::FieldCount { line: 2, found: 5 }),
            "{err:?}"
        );
        assert_eq!(err.to_string(), "line 2: expected 18 fields, found 5");
        let long = format!("{} 7\n", "1 ".repeat(18));
        let err = read_str(&long).unwrap_err();
        assert!(
            matches!(err, SwfError::FieldCount { line: 1, found: 19 }),
            "{err:?}"
        );
    }

    #[test]
    fn non_numeric_field_names_line_and_field() {
        let bad = "\n\n1 0 0 ten 1 -1 -1 1 10 -1 1 1 1 -1 -1 -1 -1 -1\n";
        let err = read_str(bad).unwrap_err();
        assert_eq!(
            err.to_string(),
            "line 3: field 4 (run time) is not a number: \"ten\""
        );
    }

    #[test]
    fn gzipped_and_plain_files() {
        use std::io::Write;
        let dir = std::env::temp_dir().join(format!("slinky-swf-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let plain = dir.join("t.swf");
        std::fs::write(&plain, SAMPLE).unwrap();
        let gz = dir.join("t.swf.gz");
        let mut enc =
            flate2::write::GzEncoder::new(File::create(&gz).unwrap(), flate2::Compression::fast());
        enc.write_all(SAMPLE.as_bytes()).unwrap();
        enc.finish().unwrap();
        let a = read_path(&plain, |_| true).unwrap();
        let b = read_path(&gz, |_| true).unwrap();
        assert_eq!(a, b);
        let missing = read_path(&dir.join("nope.swf"), |_| true).unwrap_err();
        assert!(missing.to_string().starts_with("cannot open"), "{missing}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
