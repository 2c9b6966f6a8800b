//! `AgentToken::parse` on any string: never panics; a token it accepts exposes to the
//! very same string (so the id a request is looked up by is the id it was issued
//! with), and parsing that again gives the same id and secret. A 71-character
//! candidate built from the input's letters and digits, with its checksum fixed, also
//! reaches the id/secret decoding (random strings almost never pass the CRC).
#![no_main]

use libfuzzer_sys::fuzz_target;
use nodedc_agent_gateway::auth::token::{AgentToken, PREFIX, TOKEN_LEN};

fn round_trip(raw: &str) {
    let Ok(token) = AgentToken::parse(raw) else { return };
    let exposed = token.expose();
    assert_eq!(exposed, raw, "an accepted token re-exposes to itself");
    let again = AgentToken::parse(&exposed).expect("an exposed token parses");
    assert_eq!(again.id(), token.id(), "the id is stable");
    assert_eq!(again.secret(), token.secret());
    assert!(!format!("{token:?}").contains(token.secret()), "Debug never shows the secret");
}

fuzz_target!(|data: &[u8]| {
    let raw = String::from_utf8_lossy(data);
    round_trip(&raw);
    // A well-formed body from the input: the prefix, 65 alphanumerics, a valid checksum.
    let alnum: String = raw.chars().filter(char::is_ascii_alphanumeric).collect();
    let body_len = TOKEN_LEN - PREFIX.len() - 6;
    if alnum.len() >= body_len {
        let body = format!("{PREFIX}{}", &alnum[..body_len]);
        let candidate = format!("{body}{}", nodedc_agent_gateway::auth::token::checksum(&body));
        round_trip(&candidate);
    }
});
