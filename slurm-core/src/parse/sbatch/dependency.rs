//! `--dependency` expressions: `afterok:123:124,afterany:125`, `singleton`, `after:1?afterok:2`.

use crate::model::{Dependency, DependencySpec, JobId};
use crate::parse::ParseError;

/// Parses a `--dependency` expression.
///
/// Elements are `TYPE:ID[:ID...]` with TYPE one of `after`, `afterany`, `afterok`,
/// `afternotok` (any case), or `singleton`. They are joined with `,` (all must hold) or `?`
/// (any one is enough); mixing both is an error. A bare job id means `afterany:ID`, as in
/// Slurm. Array forms `ID_TASK` and `ID_*` are accepted and stand for the whole array job `ID`.
/// An empty string is an empty (no-dependency) spec.
///
/// Unsupported (error): time delays (`after:ID+MIN`), `aftercorr`, `afterburstbuffer`,
/// `expand`.
pub fn parse_dependency(s: &str) -> Result<DependencySpec, ParseError> {
    if s.is_empty() {
        return Ok(DependencySpec::default());
    }
    let any = s.contains('?');
    if any && s.contains(',') {
        let col = char_col(s, s.find(',').unwrap_or(0));
        return Err(invalid(s, col, "cannot mix ',' (all) and '?' (any)"));
    }
    let sep = if any { '?' } else { ',' };
    let mut conditions = Vec::new();
    let mut offset = 0;
    for element in s.split(sep) {
        parse_element(s, element, offset, &mut conditions)?;
        offset += element.len() + 1;
    }
    Ok(DependencySpec { conditions, any })
}

/// Parses one `TYPE:ID[:ID...]` element starting at byte `offset` of `whole`.
fn parse_element(
    whole: &str,
    element: &str,
    offset: usize,
    out: &mut Vec<Dependency>,
) -> Result<(), ParseError> {
    let col = char_col(whole, offset);
    if element.is_empty() {
        return Err(invalid(whole, col, "empty element"));
    }
    if element.eq_ignore_ascii_case("singleton") {
        out.push(Dependency::Singleton);
        return Ok(());
    }
    let Some((kind, ids)) = element.split_once(':') else {
        if element.bytes().next().is_some_and(|b| b.is_ascii_digit()) {
            out.push(Dependency::AfterAny(parse_job_id(whole, element, col)?));
            return Ok(());
        }
        return Err(invalid(
            whole,
            col,
            &format!("expected TYPE:JOBID, got {element:?}"),
        ));
    };
    let make = condition_kind(kind).map_err(|why| invalid(whole, col, &why))?;
    let mut id_offset = offset + kind.len() + 1;
    for id in ids.split(':') {
        let id_col = char_col(whole, id_offset);
        out.push(make(parse_job_id(whole, id, id_col)?));
        id_offset += id.len() + 1;
    }
    Ok(())
}

/// The constructor for a dependency type name, or why it is not accepted.
fn condition_kind(kind: &str) -> Result<fn(JobId) -> Dependency, String> {
    match kind.to_ascii_lowercase().as_str() {
        "after" => Ok(Dependency::After),
        "afterany" => Ok(Dependency::AfterAny),
        "afterok" => Ok(Dependency::AfterOk),
        "afternotok" => Ok(Dependency::AfterNotOk),
        "singleton" => Err("singleton takes no job ids".to_owned()),
        "aftercorr" | "afterburstbuffer" | "expand" => {
            Err(format!("dependency type {kind:?} is not supported"))
        }
        _ => Err(format!("unknown dependency type {kind:?}")),
    }
}

/// Parses `ID`, `ID_TASK` or `ID_*` into the (array) job id.
fn parse_job_id(whole: &str, text: &str, col: usize) -> Result<JobId, ParseError> {
    if let Some(plus) = text.find('+') {
        let at = col + text[..plus].chars().count();
        return Err(invalid(
            whole,
            at,
            "time delays (+MINUTES) are not supported",
        ));
    }
    let (id, task) = match text.split_once('_') {
        Some((id, task)) => (id, Some(task)),
        None => (text, None),
    };
    if let Some(task) = task {
        let valid = task == "*" || (!task.is_empty() && task.bytes().all(|b| b.is_ascii_digit()));
        if !valid {
            let at = col + id.chars().count() + 1;
            return Err(invalid(whole, at, &format!("invalid array task {task:?}")));
        }
    }
    if id.is_empty() || !id.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid(whole, col, &format!("invalid job id {text:?}")));
    }
    match id.parse::<JobId>() {
        Ok(0) | Err(_) => Err(invalid(whole, col, &format!("invalid job id {text:?}"))),
        Ok(job_id) => Ok(job_id),
    }
}

fn invalid(whole: &str, col: usize, why: &str) -> ParseError {
    ParseError::at(col, format!("invalid dependency {whole:?}: {why}"))
}

/// 1-based character column of byte offset `byte` in `s`.
fn char_col(s: &str, byte: usize) -> usize {
    s.get(..byte).map_or(byte, |p| p.chars().count()) + 1
}

#[cfg(test)]
mod tests {
    use super::*;
    use Dependency::*;

    fn all(conditions: Vec<Dependency>) -> DependencySpec {
        DependencySpec {
            conditions,
            any: false,
        }
    }

    #[test]
    fn lists_of_ids() {
        assert_eq!(
            parse_dependency("afterok:123:124,afterany:125").unwrap(),
            all(vec![AfterOk(123), AfterOk(124), AfterAny(125)])
        );
        assert_eq!(
            parse_dependency("afternotok:1").unwrap(),
            all(vec![AfterNotOk(1)])
        );
        assert_eq!(parse_dependency("after:1").unwrap(), all(vec![After(1)]));
    }

    #[test]
    fn singleton_and_case() {
        assert_eq!(parse_dependency("singleton").unwrap(), all(vec![Singleton]));
        assert_eq!(
            parse_dependency("SINGLETON,AfterOK:7").unwrap(),
            all(vec![Singleton, AfterOk(7)])
        );
    }

    #[test]
    fn any_of() {
        let spec = parse_dependency("afterok:1?afternotok:2:3").unwrap();
        assert!(spec.any);
        assert_eq!(
            spec.conditions,
            vec![AfterOk(1), AfterNotOk(2), AfterNotOk(3)]
        );
        assert_eq!(spec.to_string(), "afterok:1?afternotok:2?afternotok:3");
    }

    #[test]
    fn array_forms_and_bare_ids() {
        assert_eq!(
            parse_dependency("afterok:123_4").unwrap(),
            all(vec![AfterOk(123)])
        );
        assert_eq!(
            parse_dependency("afterany:9_*").unwrap(),
            all(vec![AfterAny(9)])
        );
        assert_eq!(parse_dependency("42").unwrap(), all(vec![AfterAny(42)]));
    }

    #[test]
    fn empty_is_no_dependency() {
        assert!(parse_dependency("").unwrap().is_empty());
    }

    #[test]
    fn errors_carry_columns() {
        let cases = [
            ("afterok:1,afterok:2?after:3", 10),
            ("afterok:", 9),
            ("afterok:abc", 9),
            ("afterok:0", 9),
            ("afterok:1,", 11),
            ("afterok:1,,after:2", 11),
            ("afterok:5+10", 10),
            ("afterok:5_x", 11),
            ("aftercorr:5", 1),
            ("afterbogus:5", 1),
            ("singleton:5", 1),
            ("afterok:99999999999", 9),
            ("bogus", 1),
        ];
        for (input, column) in cases {
            let err = parse_dependency(input).expect_err(input);
            assert_eq!(err.column, column, "{input}: {err}");
        }
        let err = parse_dependency("aftercorr:5").unwrap_err();
        assert!(err.message.contains("not supported"), "{err}");
    }

    #[test]
    fn display_round_trips() {
        for s in [
            "afterok:1,afterany:2",
            "after:3?afternotok:4",
            "singleton",
            "afterok:1:2",
        ] {
            let spec = parse_dependency(s).unwrap();
            assert_eq!(parse_dependency(&spec.to_string()).unwrap(), spec, "{s}");
        }
    }
}
