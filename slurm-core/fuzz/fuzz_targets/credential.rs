//! The credential decoder on arbitrary input: it must never panic, and nothing but a token
//! signed with the key may verify.

#![no_main]

use libfuzzer_sys::fuzz_target;
use slurm_core::auth::token::{self, Claims, PREFIX};
use slurm_core::auth::{ClusterKey, Verifier};
use std::sync::{Arc, OnceLock};

fn key() -> &'static Arc<ClusterKey> {
    static KEY: OnceLock<Arc<ClusterKey>> = OnceLock::new();
    KEY.get_or_init(|| Arc::new(ClusterKey::from_bytes(vec![0x5a; 32]).expect("key")))
}

fuzz_target!(|data: &[u8]| {
    // As text, with and without the prefix.
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = token::parse(text);
        let _ = token::decode(key(), text);
        let _ = token::decode(key(), &format!("{PREFIX}{text}"));
        let _ = Verifier::new(Arc::clone(key())).verify(text);
    }
    // As the decoded bytes of a token.
    use base64::Engine as _;
    let encoded = format!(
        "{PREFIX}{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(data)
    );
    if let Ok(claims) = token::decode(key(), &encoded) {
        // Only a token made with the key verifies: re-signing gives the same bytes.
        let again: Claims = claims;
        assert_eq!(token::encode(key(), &again), encoded);
    }
});
