//! The capacity challenge's four messages (cuproof-capacity `wire`): strict decoding never panics, and whatever
//! decodes re-encodes to the same bytes. The first byte picks the message.
#![no_main]
use cuproof_capacity::wire::{Challenge, CommitMessage, OpeningsMessage, SampleRequest};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&which, rest)) = data.split_first() else {
        return;
    };
    match which % 4 {
        0 => {
            if let Ok(c) = Challenge::from_bytes(rest) {
                assert_eq!(c.to_bytes(), rest, "challenge decoding is not canonical");
                let _ = c.validate();
                let _ = c.digest();
            }
        }
        1 => {
            if let Ok(m) = CommitMessage::from_bytes(rest) {
                assert_eq!(m.to_bytes(), rest, "commit message decoding is not canonical");
                let _ = m.digest();
            }
        }
        2 => {
            if let Ok(r) = SampleRequest::from_bytes(rest) {
                assert_eq!(r.to_bytes(), rest, "sample request decoding is not canonical");
                let _ = r.check_rows(u64::from(u32::MAX));
            }
        }
        _ => {
            if let Ok(o) = OpeningsMessage::from_bytes(rest) {
                assert_eq!(o.to_bytes(), rest, "openings decoding is not canonical");
            }
        }
    }
});
