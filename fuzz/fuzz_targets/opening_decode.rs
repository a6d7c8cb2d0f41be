//! Commitment and opening decoding: never panics; decoded values re-encode to the same bytes.
#![no_main]
use cuproof_core::commitment::{Commitment, Opening, COMMITMENT_LEN};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(o) = Opening::from_bytes(data) {
        assert_eq!(o.to_bytes(), data, "opening decoding is not canonical");
    }
    if data.len() >= COMMITMENT_LEN {
        if let Ok(c) = Commitment::from_bytes(&data[..COMMITMENT_LEN]) {
            assert_eq!(&c.to_bytes()[..], &data[..COMMITMENT_LEN]);
            if let Ok(o) = Opening::from_bytes(&data[COMMITMENT_LEN..]) {
                let _ = o.verify(&c);
            }
        }
    }
});
