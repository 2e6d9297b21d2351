//! Server-side apply with the operator's field manager, and the few other writes.

use crate::Result;
use crate::render::names::FIELD_MANAGER;
use kube::Resource;
use kube::api::{Api, Patch, PatchParams};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::fmt::Debug;

/// Server-side applies `obj` (the operator owns every field it sets; `force` takes fields
/// over from other managers, as controllers should).
pub async fn apply<K>(api: &Api<K>, obj: &K) -> Result<K>
where
    K: Resource + Clone + DeserializeOwned + Serialize + Debug,
{
    let name = obj.meta().name.clone().unwrap_or_default();
    let params = PatchParams::apply(FIELD_MANAGER).force();
    Ok(api.patch(&name, &params, &Patch::Apply(obj)).await?)
}

/// Server-side applies `status` to the status subresource of `name`.
pub async fn apply_status<K>(api: &Api<K>, name: &str, status: serde_json::Value) -> Result<K>
where
    K: Resource<DynamicType = ()> + Clone + DeserializeOwned + Debug,
{
    let body = serde_json::json!({
        "apiVersion": K::api_version(&()),
        "kind": K::kind(&()),
        "status": status,
    });
    let params = PatchParams::apply(FIELD_MANAGER).force();
    Ok(api
        .patch_status(name, &params, &Patch::Apply(&body))
        .await?)
}
