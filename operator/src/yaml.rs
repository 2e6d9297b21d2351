//! YAML output (serde-saphyr): what `slinky crds` prints and the golden files hold.

use serde::Serialize;

/// One document, starting with `---`.
pub fn to_doc<T: Serialize>(value: &T) -> Result<String, crate::Error> {
    let body = serde_saphyr::to_string(value).map_err(|e| crate::Error::Yaml(e.to_string()))?;
    Ok(format!("---\n{body}"))
}

/// Several documents, each starting with `---`.
pub fn to_multi_doc<T: Serialize>(values: &[T]) -> Result<String, crate::Error> {
    let mut out = String::new();
    for value in values {
        out.push_str(&to_doc(value)?);
    }
    Ok(out)
}
